"""``ctop-node records list|show`` on a store filled through SqlStore.write_batch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from ctop_node.cli.records import register, resolve_db_url
from ctop_node.config import sqlite_url
from ctop_node.errors import RecordError, StorageError
from ctop_node.rules.outcome import OutcomeKind
from ctop_node.store import open_store
from tests._users import add_role_users
from tests.unit.store._entries import changed, entry, with_id


@pytest.fixture(autouse=True)
def _acting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands act as an arrival officer, who reads records for customs control."""
    monkeypatch.setenv("CTOP_USER", "arrival_officer")


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture
def home(tmp_path: Path, record_dict: dict[str, Any]) -> Path:
    """A node home whose SQLite store holds: A (2 versions, to_send), B (excluded), C (in)."""
    home = tmp_path / "node"
    with open_store(sqlite_url(home)) as store:
        store.write_batch(
            [
                entry(with_id(record_dict, "KZ-A")),
                entry(with_id(record_dict, "KZ-B"), outcome=OutcomeKind.EXCLUDED),
            ],
            origin_party="KZ",
        )
        store.write_batch([entry(changed(with_id(record_dict, "KZ-A"), "v2"))], origin_party="KZ")
        store.write_batch(
            [entry(with_id(record_dict, "CN-C"), outcome=OutcomeKind.NOT_APPLICABLE)],
            origin_party="CN",
            direction="in",
        )
    add_role_users(sqlite_url(home))
    return home


def run(cli: typer.Typer, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_list_json_newest_first_with_counts(cli: typer.Typer, home: Path) -> None:
    result = run(cli, "records", "list", "--home", str(home), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(r["record_id"], r["version"]) for r in data["records"]] == [
        ("CN-C", 1),
        ("KZ-A", 2),
        ("KZ-B", 1),
    ]
    assert data["outcome_counts"] == {"to_send": 1, "excluded": 1, "not_applicable": 1}


def test_list_filters_by_outcome_and_limits(cli: typer.Typer, home: Path) -> None:
    result = run(cli, "records", "list", "--home", str(home), "--outcome", "excluded", "--json")
    assert [r["record_id"] for r in json.loads(result.stdout)["records"]] == ["KZ-B"]
    result = run(cli, "records", "list", "--home", str(home), "--limit", "1", "--json")
    assert [r["record_id"] for r in json.loads(result.stdout)["records"]] == ["CN-C"]


def test_list_table_marks_received_records_and_ends_with_a_summary(
    cli: typer.Typer, home: Path
) -> None:
    result = run(cli, "records", "list", "--db", sqlite_url(home))
    assert result.exit_code == 0, result.output
    assert "KZ-A" in result.stdout and "KZ-B" in result.stdout
    assert "CN*" in result.stdout
    assert "* received from CN: for customs control only" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("3 of 3 records shown")


def test_show_all_versions_and_the_latest_body(cli: typer.Typer, home: Path) -> None:
    result = run(cli, "records", "show", "KZ-A", "--home", str(home), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [v["version"] for v in data["versions"]] == [1, 2]
    assert data["version"] == 2
    assert data["body"]["record_id"] == "KZ-A"
    assert data["body"]["goods"][0]["description"].endswith("(v2)")


def test_show_a_chosen_version(cli: typer.Typer, home: Path) -> None:
    result = run(cli, "records", "show", "KZ-A", "--version", "1", "--home", str(home))
    assert result.exit_code == 0, result.output
    assert "Version 1 of 2" in result.stdout
    assert "(v2)" not in result.stdout


def test_show_received_record_carries_the_use_restriction(cli: typer.Typer, home: Path) -> None:
    result = run(cli, "records", "show", "CN-C", "--home", str(home))
    assert result.exit_code == 0, result.output
    assert "for customs control only" in " ".join(result.stdout.split())


def test_show_unknown_record_or_version_is_an_error(cli: typer.Typer, home: Path) -> None:
    result = run(cli, "records", "show", "KZ-NONE", "--home", str(home))
    assert isinstance(result.exception, RecordError)
    assert result.exception.code == "record.not_found"
    result = run(cli, "records", "show", "KZ-A", "--version", "9", "--home", str(home))
    assert isinstance(result.exception, RecordError)
    assert result.exception.code == "record.version_not_found"


def test_reading_a_home_without_database_creates_nothing(cli: typer.Typer, tmp_path: Path) -> None:
    result = run(cli, "records", "list", "--home", str(tmp_path / "empty"))
    assert isinstance(result.exception, StorageError)
    assert result.exception.code == "store.missing"
    assert not (tmp_path / "empty").exists()


def test_db_url_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_db_url(tmp_path, "sqlite:///x.db") == "sqlite:///x.db"
    assert resolve_db_url(tmp_path, None) == sqlite_url(tmp_path)
    (tmp_path / "node.json").write_text(
        json.dumps({"party": "KZ", "db_url": "postgresql+psycopg://u@127.0.0.1/n"}), "utf-8"
    )
    assert resolve_db_url(tmp_path, None) == "postgresql+psycopg://u@127.0.0.1/n"
    monkeypatch.setenv("CTOP_HOME", str(tmp_path / "other"))
    assert resolve_db_url(None, None) == sqlite_url(tmp_path / "other")
