"""Shared fixtures: databases (SQLite and PostgreSQL), a store on them, sample records, and
two node homes (KZ and CN) that trust each other."""

from __future__ import annotations

import copy
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from ctop_node.store import SqlStore, open_store
from tests._homes import Home, make_pair

# CI runs the same examples every time (a red CI must be reproducible); developers' runs
# keep exploring new ones.
settings.register_profile("ci", derandomize=True, database=None)

DATA = Path(__file__).parent / "data"
PG_URL = os.environ.get("CTOP_TEST_PG", "postgresql+psycopg://root@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
if IN_CI:
    settings.load_profile("ci")


@pytest.fixture
def record_dict() -> dict[str, Any]:
    """A valid KZ export record to CN (fresh copy per test)."""
    data: dict[str, Any] = json.loads((DATA / "record_kz_cn.json").read_text("utf-8"))
    return copy.deepcopy(data)


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("postgresql+psycopg", "postgresql"), connect_timeout=3):
            return None
    except Exception as exc:  # any failure means "not available"
        return f"{type(exc).__name__}: {exc}"


@pytest.fixture(scope="session")
def pg_base_url() -> str:
    problem = _pg_available()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and is not reachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    return PG_URL


@pytest.fixture
def pg_url(pg_base_url: str) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    raw = pg_base_url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{pg_base_url}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(raw, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'node.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """The same test on both databases."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(db_url: str) -> Iterator[SqlStore]:
    """A migrated store on each database, closed afterwards."""
    with open_store(db_url) as s:
        yield s


@pytest.fixture
def kz_cn_homes(tmp_path: Path) -> tuple[Home, Home]:
    """KZ and CN node homes with real PKI that trust each other (fresh keys per test)."""
    return make_pair(tmp_path)
