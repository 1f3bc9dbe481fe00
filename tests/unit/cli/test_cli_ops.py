"""Operator ergonomics of ``ctop-node``: --version, a --help that imports no command module,
help lines that match the commands, ``peer remove``, ``outbox requeue``, and errors that stay
JSON with --json."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from ctop_node.cli import app
from ctop_node.cli._lazy import LAZY
from ctop_node.config import NodeConfig
from ctop_node.crypto.node import NodePaths
from ctop_node.store import open_store
from ctop_node.store.outbox import Dead, Delivered
from tests.unit.store._entries import entry, with_id

HEAVY = ("sqlalchemy", "fastapi", "uvicorn", "cryptography", "alembic", "pydantic", "httpx")


def _ctop(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ctop_node", *args], capture_output=True, text=True, timeout=120
    )


def test_version() -> None:
    from importlib.metadata import version

    done = CliRunner().invoke(app, ["--version"])
    assert done.exit_code == 0 and done.stdout.strip() == f"ctop-node {version('ctop-node')}"


def test_help_lists_every_command_and_imports_no_command_module() -> None:
    probe = (
        "import sys\n"
        "sys.argv = ['ctop-node', '--help']\n"
        "from ctop_node.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('MODULES', ' '.join(sorted(m for m in sys.modules if m.startswith(('ctop_node', "
        + ", ".join(repr(h) for h in HEAVY)
        + ")))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    help_text, _, modules = done.stdout.rpartition("MODULES")
    for cmds in LAZY.values():
        for name in cmds:
            assert f"  {name} " in help_text
    loaded = modules.split()
    # A command module not listed in cli/_lazy.py LAZY is imported eagerly: list it there.
    assert not [m for m in loaded if m.split(".")[0] in HEAVY], loaded
    assert not [
        m for m in loaded if m.startswith("ctop_node.cli.") and m not in {"ctop_node.cli._lazy"}
    ], loaded


@pytest.mark.parametrize("module", sorted(LAZY))
def test_listed_help_is_the_command_help(module: str) -> None:
    import importlib

    sub = typer.Typer()
    importlib.import_module(f"ctop_node.cli.{module}").register(sub)
    group = typer.main.get_group(sub)
    assert set(group.commands) == set(LAZY[module])
    for name, cmd in group.commands.items():
        real = " ".join((cmd.help or "").split("\n\n")[0].split())
        assert LAZY[module][name] == real, name


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "kz"
    done = CliRunner().invoke(app, ["init", "--party", "KZ", "--home", str(home)])
    assert done.exit_code == 0, done.output
    return home


def test_peer_remove(home: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    add = ["peer", "add", "CN", "--url", "https://127.0.0.1:8443", "--home", str(home)]
    assert runner.invoke(app, add).exit_code == 0
    bundle = NodePaths(home).peer_dir("CN")
    bundle.mkdir(parents=True)
    (bundle / "ca.pem").write_text("x", "ascii")
    done = runner.invoke(app, ["peer", "remove", "cn", "--home", str(home), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"party": "CN", "removed": True, "trust_forgotten": False}
    assert NodeConfig.load(home).node.peers == {} and bundle.is_dir()  # trust kept
    again = runner.invoke(app, ["peer", "remove", "CN", "--home", str(home)])
    assert again.exit_code == 0 and "CN" in again.stdout
    forget = ["peer", "remove", "CN", "--forget-trust", "--home", str(home), "--json"]
    assert json.loads(runner.invoke(app, forget).stdout)["removed"] is True
    assert not bundle.exists()
    assert NodeConfig.load(home).party == "KZ"  # the rest of node.json kept


def test_outbox_requeue(home: Path, record_dict: dict[str, Any]) -> None:
    url = NodeConfig.load(home).db_url
    far = datetime.now(UTC) + timedelta(days=1)
    with open_store(url) as store:
        recs = [with_id(record_dict, f"RQ-{i}") for i in range(3)]
        store.write_batch([entry(r, peers=("CN", "RU")) for r in recs], origin_party="KZ")
        box = store.outbox_queue
        cn, ru = box.due("CN", 10, far), box.due("RU", 10, far)
        box.settle([Dead(i.id, "transport.gave_up", "down", far) for i in (*cn, *ru[:1])])
        box.settle([Delivered(ru[1].id, b"r", far)])
    runner = CliRunner()
    done = runner.invoke(app, ["outbox", "requeue", "--peer", "cn", "--home", str(home), "--json"])
    assert done.exit_code == 0, done.output
    assert sorted(json.loads(done.stdout)["requeued"]) == sorted(i.id for i in cn)
    one = runner.invoke(app, ["outbox", "requeue", "--id", str(ru[0].id), "--home", str(home)])
    assert one.exit_code == 0 and "1" in one.stdout
    with open_store(url) as store:
        assert store.outbox_queue.counts() == {
            "pending": 5,
            "delivered": 1,
            "rejected": 0,
            "dead": 0,
            "withdrawn": 0,
        }


def test_errors_stay_json_with_json(tmp_path: Path) -> None:
    done = _ctop("outbox", "requeue", "--home", str(tmp_path / "none"), "--json")
    assert done.returncode == 1
    error = json.loads(done.stdout)["error"]
    assert error["code"] == "config.no_party" and str(tmp_path / "none") in error["message"]
    plain = _ctop("outbox", "requeue", "--home", str(tmp_path / "none"))
    assert plain.returncode == 1 and plain.stdout == "" and "config.no_party" in plain.stderr


def test_db_current_and_upgrade(home: Path, db_url: str) -> None:
    from ctop_node.store import migrate

    runner = CliRunner()
    where = ["--home", str(home), "--db", db_url, "--json"]
    with open_store(db_url, migrate=False) as store:
        migrate.upgrade(store.engine, "0002")  # a database left by an older version
    behind = runner.invoke(app, ["db", "current", *where])
    head = migrate.head_revision()
    assert behind.exit_code == 1
    assert json.loads(behind.stdout) == {"current": "0002", "head": head, "up_to_date": False}
    up = runner.invoke(app, ["db", "upgrade", *where])
    assert up.exit_code == 0, up.output
    assert json.loads(up.stdout) == {"from": "0002", "to": head}
    now = runner.invoke(app, ["db", "current", *where])
    assert now.exit_code == 0 and json.loads(now.stdout)["up_to_date"] is True
    again = runner.invoke(app, ["db", "upgrade", *where])
    assert json.loads(again.stdout) == {"from": head, "to": head}
