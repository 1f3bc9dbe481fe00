"""Helpers for the reader tests: records that differ only by id, validation to compare."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from ctop_node.ingest.interfaces import RawItem, Reader
from ctop_node.tc import DEFAULT_REGISTRY


def validated(data: dict[str, Any] | None) -> BaseModel:
    assert data is not None
    return DEFAULT_REGISTRY.latest.validate_record(data)


def records(base: dict[str, Any], n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        rec = copy.deepcopy(base)
        rec["record_id"] = f"KZ-TEST-{i + 1:06d}"
        out.append(rec)
    return out


def read_all(reader: Reader, path: Path) -> list[RawItem]:
    items = list(reader.read(path))
    for item in items:
        assert (item.data is None) != (item.error is None), item
    return items


@pytest.fixture
def three(record_dict: dict[str, Any]) -> list[dict[str, Any]]:
    return records(record_dict, 3)


@pytest.fixture
def write(tmp_path: Path) -> Iterator[Callable[[str, bytes], Path]]:
    def _write(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    yield _write
