"""Fixtures shared by the web tests: anyio on asyncio, and a UI node holding one record."""

from __future__ import annotations

from typing import Any

import pytest

from ctop_node.store import SqlStore
from tests.unit.web._ui import UiNode, ui_node


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def node(store: SqlStore, record_dict: dict[str, Any]) -> UiNode:
    return ui_node(store, record_dict)
