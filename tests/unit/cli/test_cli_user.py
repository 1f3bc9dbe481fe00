"""``ctop-node user add|list|disable|token`` on a node home's SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ctop_node.access.sessions import Accounts
from ctop_node.cli.user import register
from ctop_node.config import sqlite_url
from ctop_node.errors import StorageError
from ctop_node.store import open_store
from ctop_node.store.users import UserStore
from tests.unit.web._ui import PASSWORD


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def run(cli: typer.Typer, home: Path, *args: str, stdin: str | None = None) -> str:
    result = CliRunner().invoke(cli, ["user", *args, "--home", str(home)], input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.stdout


def test_add_list_token_disable(cli: typer.Typer, tmp_path: Path) -> None:
    run(
        cli,
        tmp_path,
        "add",
        "olga",
        "--role",
        "arrival_officer",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    listed = json.loads(run(cli, tmp_path, "list", "--json"))
    assert [(u["name"], u["role"], u["disabled"], u["tokens"]) for u in listed] == [
        ("olga", "arrival_officer", False, 0)
    ]
    token = run(cli, tmp_path, "token", "olga").strip()
    with open_store(sqlite_url(tmp_path)) as store:
        accounts = Accounts(UserStore(store.engine))
        who = accounts.bearer(token)
        assert who is not None and who.name == "olga"
        session = accounts.login("olga", PASSWORD, "127.0.0.1")  # the stdin newline is not kept
        assert session.principal.role.value == "arrival_officer"
    run(cli, tmp_path, "disable", "olga")
    assert json.loads(run(cli, tmp_path, "list", "--json"))[0]["disabled"] is True
    with open_store(sqlite_url(tmp_path)) as store:
        assert Accounts(UserStore(store.engine)).bearer(token) is None


def test_token_revoke(cli: typer.Typer, tmp_path: Path) -> None:
    run(cli, tmp_path, "add", "sam", "--role", "supervisor", "--password-stdin", stdin=PASSWORD)
    first = run(cli, tmp_path, "token", "sam").strip()
    second = run(cli, tmp_path, "token", "sam").strip()
    assert first != second
    run(cli, tmp_path, "token", "sam", "--revoke")
    with open_store(sqlite_url(tmp_path)) as store:
        accounts = Accounts(UserStore(store.engine))
        assert accounts.bearer(first) is None and accounts.bearer(second) is None


def test_unknown_role_and_duplicate_are_clear_errors(cli: typer.Typer, tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="arrival_officer"):  # a checked choice
        run(cli, tmp_path, "add", "x", "--role", "boss", "--password-stdin", stdin=PASSWORD)
    run(cli, tmp_path, "add", "x", "--role", "auditor", "--password-stdin", stdin=PASSWORD)
    with pytest.raises(StorageError, match="exists already"):
        run(cli, tmp_path, "add", "x", "--role", "auditor", "--password-stdin", stdin=PASSWORD)
    with pytest.raises(StorageError, match="no user nobody"):
        run(cli, tmp_path, "disable", "nobody")
