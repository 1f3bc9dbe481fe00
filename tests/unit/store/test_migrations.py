"""Alembic revisions: they build exactly schema.py, downgrade cleanly and upgrade again."""

from __future__ import annotations

import ast
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from ctop_node.store import migrate, open_store
from ctop_node.store._engine import create_store_engine
from ctop_node.store.schema import metadata
from tests.unit.store._entries import entry

OUR_TABLES = {
    "records",
    "record_heads",
    "ingest_log",
    "outbox",
    "inbox",
    "peer_status",
    "lock_reads",
    "lock_writes",
    "users",
    "user_tokens",
    "web_sessions",
    "record_index",
    "search_terms",
    "index_progress",
    "audit_log",
    "audit_checkpoints",
    "consents",
    "record_purges",
    "train_summary",
}
HEAD = "0016"


def test_open_store_brings_the_schema_to_head(db_url: str) -> None:
    with open_store(db_url) as store:
        assert migrate.current_revision(store.engine) == migrate.head_revision() == HEAD
        assert OUR_TABLES | {"alembic_version"} <= set(inspect(store.engine).get_table_names())


def test_migrations_build_what_schema_py_describes(db_url: str) -> None:
    with open_store(db_url) as store, store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, metadata) == []


def test_downgrade_to_base_then_upgrade_again(db_url: str, record_dict: dict[str, Any]) -> None:
    engine = create_store_engine(db_url)
    try:
        migrate.upgrade(engine)
        migrate.downgrade(engine, "base")
        assert migrate.current_revision(engine) is None
        assert not OUR_TABLES & set(inspect(engine).get_table_names())
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == HEAD
    finally:
        engine.dispose()
    with open_store(db_url) as store:
        [result] = store.write_batch([entry(record_dict)], origin_party="KZ")
        assert result.version == 1


def test_opening_twice_does_not_migrate_twice(db_url: str) -> None:
    with open_store(db_url):
        pass
    with open_store(db_url) as store:
        assert migrate.current_revision(store.engine) == HEAD


def test_store_without_migration_has_no_tables(sqlite_url: str) -> None:
    with open_store(sqlite_url, migrate=False) as store:
        assert inspect(store.engine).get_table_names() == []


def test_postgresql_tables_go_into_the_search_path_schema(pg_url: str) -> None:
    schema = pg_url.rsplit("%3D", 1)[1]
    with open_store(pg_url) as store:
        names = set(inspect(store.engine).get_table_names(schema=schema))
    assert OUR_TABLES | {"alembic_version"} <= names


@pytest.mark.parametrize("path", sorted((migrate.MIGRATIONS_DIR / "versions").glob("[0-9]*.py")))
def test_every_revision_has_a_real_downgrade(path: Any) -> None:
    tree = ast.parse(path.read_text("utf-8"))
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert {"upgrade", "downgrade"} <= functions.keys()
    body = functions["downgrade"].body
    assert not (len(body) == 1 and isinstance(body[0], ast.Pass)), f"{path.name}: empty downgrade"


def test_migration_scripts_ship_inside_the_package() -> None:
    names = {p.name for p in migrate.MIGRATIONS_DIR.iterdir()}
    assert {"env.py", "script.py.mako", "__init__.py", "versions"} <= names
    assert (migrate.MIGRATIONS_DIR / "versions" / "__init__.py").exists()
