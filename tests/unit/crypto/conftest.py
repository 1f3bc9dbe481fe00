"""Fixtures of the crypto tests: fresh Party CAs and node homes in tmp dirs (nothing secret
is committed; every test run makes its own keys)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._homes import Home, exchange_trust, make_home


@pytest.fixture
def kz(tmp_path: Path) -> Home:
    return make_home(tmp_path, "KZ")


@pytest.fixture
def cn(tmp_path: Path) -> Home:
    return make_home(tmp_path, "CN")


@pytest.fixture
def paired(kz: Home, cn: Home, tmp_path: Path) -> tuple[Home, Home]:
    exchange_trust(kz, cn, tmp_path)
    return kz, cn
