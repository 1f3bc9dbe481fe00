"""Fixtures of the online tests: the KZ (sending) and CN (receiving) homes of one pair."""

from __future__ import annotations

import pytest

from tests._homes import Home


@pytest.fixture
def kz(kz_cn_homes: tuple[Home, Home]) -> Home:
    return kz_cn_homes[0]


@pytest.fixture
def cn(kz_cn_homes: tuple[Home, Home]) -> Home:
    return kz_cn_homes[1]
