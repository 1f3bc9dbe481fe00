"""The command line's side of the permission matrix (Art.6): every command of the tree has an
entry in ``policy.CLI_COMMANDS`` (operator and offline ones named as such), and every checked
command, run as every role on two real nodes (CN on SQLite and PostgreSQL), does what the table
says: allowed ones work; refused ones exit 1 with ``access.denied``, print nothing of the
record, and leave an ``access.denied`` entry in the chain. A token acts as its user; an
unknown or disabled user, a dead token, and no user at all are refused the same way."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from ctop_node.access.consent import add_consent
from ctop_node.access.policy import (
    CLI_COMMANDS,
    OFFLINE,
    USER_ROLES,
    Principal,
    Role,
    allowed,
    cli_rule,
)
from ctop_node.access.sessions import Accounts
from ctop_node.cli import run
from ctop_node.cli._actor import audit_chain
from ctop_node.store import open_store
from ctop_node.store.audit import AuditLog, AuditRow
from ctop_node.store.consents import ConsentStore
from ctop_node.store.users import UserStore
from tests._homes import Home
from tests.unit.access._nodes import Nodes, exchange
from tests.unit.cli.test_cli_tree import _tree

CHECKED = [c for c, rule in CLI_COMMANDS.items() if rule.action is not None]


@pytest.fixture
def nodes(kz_cn_homes: tuple[Home, Home], db_url: str, record_dict: dict[str, Any]) -> Nodes:
    n = exchange(kz_cn_homes, db_url, record_dict, n=1)
    with open_store(db_url) as store:
        # A consent to revoke (only supervisors may).
        add_consent(
            ConsentStore(store.engine),
            audit_chain(store, n.cn.home),
            actor="setup",
            origin="test",
            reference="REF-1",
            from_party="KZ",
            purpose="court",
            scope=("*",),
            valid_until=date(2099, 12, 31),
            now=datetime.now(UTC),
        )
    return n


def argv(command: str, nodes: Nodes, out: Path) -> list[str]:
    """The command with arguments that work for an allowed user, at CN."""
    home = ["--home", str(nodes.cn.home)]
    rid = nodes.record_ids[0]
    args: dict[str, list[str]] = {
        "records list": [],
        "records show": [rid],
        "records export": ["--out", str(out)],
        "evidence pack": [rid, "--out", str(out)],
        "consent add": [
            *("--reference", f"REF-{uuid.uuid4().hex[:6]}", "--from-party", "KZ"),
            *("--purpose", "court", "--scope", "*", "--valid-until", "2099-12-31"),
        ],
        "consent revoke": ["REF-1"],
        "consent list": [],
        "audit verify": [],
        "audit export": ["--from", "1", "--to", "1", "--out", str(out)],
        "purge": ["--before", "2000-01-01"],
        "report": ["--from", "2000-01-01", "--to", "2099-12-31", "--out", str(out)],
    }
    return [*command.split(), *args[command], *home, "--json"]


@dataclass
class Done:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Done]:
    """Run a command line as ``ctop-node`` does (errors as one line, JSON with --json)."""
    monkeypatch.delenv("CTOP_USER", raising=False)

    def call(*args: str, env: dict[str, str] | None = None) -> Done:
        monkeypatch.delenv("CTOP_TOKEN", raising=False)
        for k, v in (env or {}).items():
            monkeypatch.setenv(k, v)
        status = run(list(args))
        out, err = capsys.readouterr()
        return Done(status, out, err)

    return call


Cli = Callable[..., Done]


def entries(nodes: Nodes, action: str) -> list[AuditRow]:
    with open_store(nodes.cn_db) as store:
        return [e for e in AuditLog(store.engine).entries() if e.action == action]


def denials(nodes: Nodes) -> list[AuditRow]:
    return entries(nodes, "access.denied")


def secrets_of(record: dict[str, Any]) -> list[str]:
    """Values of the record a refusal must not print."""
    return [record["record_id"], json.dumps(record["consignee"]["name"])[1:-1]]


def test_every_command_of_the_tree_has_an_entry_or_is_the_operators() -> None:
    tree = {path for path, _cmd in _tree()}
    assert sorted(set(CLI_COMMANDS) - tree) == [], "entries of CLI_COMMANDS no command serves"
    for command in tree:
        rule = cli_rule(command)
        assert rule.action is not None or rule.open in ("operator", "offline"), command
    # The commands that show or export record content are checked, never the operator's.
    for command in ("records list", "records show", "records export", "evidence pack", "purge"):
        assert cli_rule(command).action is not None, command
    assert cli_rule("evidence verify") is OFFLINE


def test_every_role_gets_what_the_table_says(
    cli: Cli, nodes: Nodes, tmp_path: Path, record_dict: dict[str, Any]
) -> None:
    rid = nodes.record_ids[0]
    record = {**record_dict, "record_id": rid}
    for command in CHECKED:
        rule = CLI_COMMANDS[command]
        assert rule.action is not None and rule.purpose is not None
        for role in USER_ROLES:
            out = tmp_path / f"{command.replace(' ', '-')}-{role}"
            before = len(denials(nodes))
            done = cli(*argv(command, nodes, out), "--user", role)
            where = f"{command} as {role}: {done.output}"
            if allowed(Principal(role, Role(role), "cli"), rule.action, rule.purpose):
                assert done.exit_code == 0, where
                assert len(denials(nodes)) == before, where
                continue
            assert done.exit_code == 1, where
            assert json.loads(done.stdout)["error"]["code"] == "access.denied", where
            for value in secrets_of(record):
                assert value not in done.output, where
            assert not out.exists(), where
            entry = denials(nodes)[-1]
            assert len(denials(nodes)) == before + 1, where
            assert (entry.actor, entry.object) == (role, f"cli:{command}"), where
            detail = json.loads(entry.detail)
            assert (detail["role"], detail["asked"]) == (role, rule.action.value), where


def _token(nodes: Nodes, name: str, scope: str = "read") -> str:
    with open_store(nodes.cn_db) as store:
        return Accounts(UserStore(store.engine)).issue_token(name, scope)


def test_a_token_acts_as_its_user_and_wins_over_a_name(cli: Cli, nodes: Nodes) -> None:
    home = str(nodes.cn.home)
    token = _token(nodes, "arrival_officer")
    rid = nodes.record_ids[0]
    shown = cli("records", "show", rid, "--home", home, "--json", env={"CTOP_TOKEN": token})
    assert shown.exit_code == 0, shown.output
    reads = entries(nodes, "records.show")
    assert reads[-1].actor == "arrival_officer"
    # The token wins over a bare name: the analyst's token cannot borrow an officer's name.
    analyst = _token(nodes, "analyst")
    refused = cli(
        *("records", "show", rid, "--home", home, "--json", "--user", "supervisor"),
        env={"CTOP_TOKEN": analyst},
    )
    assert refused.exit_code == 1 and rid not in refused.output
    assert json.loads(refused.stdout)["error"]["code"] == "access.denied"
    assert denials(nodes)[-1].actor == "analyst"


def test_a_dead_token_is_refused_and_audited(cli: Cli, nodes: Nodes) -> None:
    home = str(nodes.cn.home)
    rid = nodes.record_ids[0]
    for token in ("ctu_not-a-token", "some-other-secret"):
        done = cli("records", "show", rid, "--home", home, "--json", env={"CTOP_TOKEN": token})
        assert done.exit_code == 1 and rid not in done.output, done.output
        assert json.loads(done.stdout)["error"]["code"] == "access.bad_token"
        assert json.loads(denials(nodes)[-1].detail)["code"] == "access.bad_token"


@pytest.mark.parametrize("how", ["unknown", "disabled"])
def test_an_unknown_or_disabled_user_is_refused_and_audited(
    cli: Cli, nodes: Nodes, how: str
) -> None:
    name = "nobody"
    if how == "disabled":
        name = "supervisor"
        with open_store(nodes.cn_db) as store:
            UserStore(store.engine).disable(name)
    rid = nodes.record_ids[0]
    done = cli("records", "show", rid, "--home", str(nodes.cn.home), "--user", name, "--json")
    assert done.exit_code == 1 and rid not in done.output, done.output
    assert json.loads(done.stdout)["error"]["code"] == "access.unknown_user"
    entry = denials(nodes)[-1]
    assert (entry.actor, json.loads(entry.detail)["code"]) == (name, "access.unknown_user")


def test_no_user_is_refused_saying_how(cli: Cli, nodes: Nodes) -> None:
    rid = nodes.record_ids[0]
    done = cli("records", "show", rid, "--home", str(nodes.cn.home))
    assert done.exit_code == 1 and rid not in done.output
    assert "--user" in done.output and "CTOP_TOKEN" in done.output
    assert "access.no_user" in done.output
    assert json.loads(denials(nodes)[-1].detail)["code"] == "access.no_user"
