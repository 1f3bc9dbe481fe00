"""``ctop-node cancel`` and what ``records list/show`` then say about the record."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from ctop_node.cli import cancel as cancel_cli
from ctop_node.cli import records as records_cli
from ctop_node.cli import status as status_cli
from ctop_node.config import sqlite_url, write_node_config
from ctop_node.errors import RecordError, UsageError
from ctop_node.store import open_store
from ctop_node.store.outbox import Delivered, Outbox
from tests._users import add_role_users
from tests.unit.store._entries import changed, entry, with_id


@pytest.fixture(autouse=True)
def _acting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands act as an arrival officer, who reads records for customs control."""
    monkeypatch.setenv("CTOP_USER", "arrival_officer")


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    cancel_cli.register(app)
    records_cli.register(app)
    status_cli.register(app)
    return app


@pytest.fixture
def home(tmp_path: Path, record_dict: dict[str, Any]) -> Path:
    """A KZ home: KZ-A v1 delivered to CN, v2 pending (sealed never)."""
    home = tmp_path / "node"
    write_node_config(home, {"party": "KZ"})
    a = with_id(record_dict, "KZ-A")
    with open_store(sqlite_url(home)) as store:
        store.write_batch([entry(a)], origin_party="KZ")
        box = Outbox(store.engine)
        soon = datetime.now(UTC) + timedelta(seconds=1)
        [item] = box.due("CN", 10, soon)
        box.attach_message(item.id, "00000000-0000-4000-8000-000000000001", b"sealed")
        box.settle([Delivered(item.id, b"receipt", soon)])
        store.write_batch([entry(changed(a, "v2"))], origin_party="KZ")
    add_role_users(sqlite_url(home))
    return home


def run(cli: typer.Typer, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_cancel_then_records_show_the_state(cli: typer.Typer, home: Path) -> None:
    done = run(
        cli, "cancel", "KZ-A", "--reason", "declaration annulled", "--home", str(home), "--json"
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {
        "record_id": "KZ-A",
        "withdrawn": [{"peer": "CN", "version": 2}],
        "cancellations": [{"peer": "CN", "version": 1}],
        "already_cancelled": [],
    }
    listed = json.loads(run(cli, "records", "list", "--home", str(home), "--json").stdout)
    [row] = listed["records"]
    assert (row["record_id"], row["version"], row["state"]) == ("KZ-A", 2, "cancelled")
    shown = json.loads(run(cli, "records", "show", "KZ-A", "--home", str(home), "--json").stdout)
    assert shown["state"] == "cancelled"
    assert [(d["kind"], d["version"], d["state"]) for d in shown["deliveries"]] == [
        ("record", 1, "delivered"),
        ("record", 2, "withdrawn"),
        ("cancellation", 1, "pending"),
    ]
    assert shown["deliveries"][-1]["reason"] == "declaration annulled"
    table = run(cli, "records", "show", "KZ-A", "--home", str(home))
    assert "cancelled" in table.stdout and "withdrawn" in table.stdout
    status = json.loads(run(cli, "status", "--home", str(home), "--json").stdout)
    assert status["totals"]["withdrawn"] == 1 and status["totals"]["pending"] == 1
    assert status["peers"]["CN"]["withdrawn"] == 1
    assert "never sent): 1" in run(cli, "status", "--home", str(home)).stdout


def test_cancel_twice_unknown_or_without_reason(cli: typer.Typer, home: Path) -> None:
    assert run(cli, "cancel", "KZ-A", "--reason", "x", "--home", str(home)).exit_code == 0
    again = run(cli, "cancel", "KZ-A", "--reason", "x", "--home", str(home))
    assert isinstance(again.exception, RecordError)
    assert again.exception.code == "record.already_cancelled"
    unknown = run(cli, "cancel", "KZ-NONE", "--reason", "x", "--home", str(home))
    assert isinstance(unknown.exception, RecordError)
    assert unknown.exception.code == "record.not_found"
    assert "KZ-NONE" in unknown.exception.message
    blank = run(cli, "cancel", "KZ-A", "--reason", "   ", "--home", str(home))
    assert isinstance(blank.exception, UsageError) and blank.exception.code == "cancel.reason"
    assert run(cli, "cancel", "KZ-A", "--home", str(home)).exit_code == 2  # --reason required
