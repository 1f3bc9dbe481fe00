"""``ctop-node backup`` / ``restore`` on SQLite and PostgreSQL: the new home holds the same
configuration, keys and rows; a wrong passphrase, an altered file or a used target restore
nothing."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from ctop_node.cli import app
from ctop_node.config import NodeConfig
from ctop_node.store import open_store
from ctop_node.store.schema import outbox, records
from tests.unit.store._entries import entry, with_id

PASS = "a long enough passphrase"


def _counts(url: str) -> tuple[int, int]:
    with open_store(url) as store, store.engine.connect() as conn:
        n_records = conn.execute(select(func.count()).select_from(records)).scalar_one()
        n_outbox = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
    return int(n_records), int(n_outbox)


@pytest.fixture
def passfile(tmp_path: Path) -> Path:
    path = tmp_path / "pass.txt"
    path.write_text(PASS + "\n", "utf-8")
    return path


def _node(tmp_path: Path, db_url: str, record_dict: dict[str, Any]) -> Path:
    home = tmp_path / "kz"
    done = CliRunner().invoke(app, ["init", "--party", "KZ", "--home", str(home), "--db", db_url])
    assert done.exit_code == 0, done.output
    with open_store(db_url) as store:
        recs = [with_id(record_dict, f"BK-{i}") for i in range(7)]
        store.write_batch([entry(r) for r in recs], origin_party="KZ")
    return home


def test_backup_and_restore_into_a_new_home(
    tmp_path: Path,
    db_url: str,
    record_dict: dict[str, Any],
    passfile: Path,
    request: pytest.FixtureRequest,
) -> None:
    home = _node(tmp_path, db_url, record_dict)
    before = _counts(db_url)
    out = tmp_path / "bk" / "kz.ctopbak"
    runner = CliRunner()
    made = runner.invoke(
        app,
        [
            "backup",
            "--home",
            str(home),
            "--out",
            str(out),
            "--passphrase-file",
            str(passfile),
            "--json",
        ],
    )
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["database"] == (
        "sqlite" if db_url.startswith("sqlite") else "postgresql"
    )
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert b"BEGIN PRIVATE KEY" not in out.read_bytes() and b"BK-1" not in out.read_bytes()
    if db_url.startswith("postgresql"):
        import psycopg

        schema = db_url.rsplit("%3D", 1)[1]
        raw = str(request.getfixturevalue("pg_base_url")).replace(
            "postgresql+psycopg", "postgresql"
        )
        with psycopg.connect(raw, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')  # the database is lost
    new = tmp_path / "restored"
    done = runner.invoke(
        app, ["restore", str(out), "--home", str(new), "--passphrase-file", str(passfile), "--json"]
    )
    assert done.exit_code == 0, done.output
    config = NodeConfig.load(new)
    assert config.party == "KZ"
    assert _counts(config.db_url) == before
    if db_url.startswith("sqlite"):
        assert config.db_url != db_url and str(new) in config.db_url  # its own database
    for name in ("keys/sign.key", "keys/enc.key", "keys/tls.key", "certs/tls.pem"):
        assert (new / name).read_bytes() == (home / name).read_bytes()
    assert stat.S_IMODE((new / "keys").stat().st_mode) == 0o700
    assert stat.S_IMODE((new / "keys" / "sign.key").stat().st_mode) == 0o600


def test_nothing_is_restored_from_a_bad_file_or_into_a_used_home(
    tmp_path: Path, sqlite_url: str, record_dict: dict[str, Any], passfile: Path
) -> None:
    home = _node(tmp_path, sqlite_url, record_dict)
    out = tmp_path / "kz.ctopbak"
    runner = CliRunner()
    args = ["--passphrase-file", str(passfile)]
    assert (
        runner.invoke(app, ["backup", "--home", str(home), "--out", str(out), *args]).exit_code == 0
    )
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the passphrase at all\n", "utf-8")
    target = tmp_path / "h2"
    bad = runner.invoke(
        app, ["restore", str(out), "--home", str(target), "--passphrase-file", str(wrong)]
    )
    assert bad.exit_code != 0 and getattr(bad.exception, "code", "") == "crypto.backup.altered"
    assert not target.exists() and not any(
        p.name.endswith(".restoring") for p in tmp_path.iterdir()
    )
    altered = tmp_path / "altered.ctopbak"
    blob = bytearray(out.read_bytes())
    blob[-5] ^= 0x40
    altered.write_bytes(bytes(blob))
    cut = runner.invoke(app, ["restore", str(altered), "--home", str(target), *args])
    assert getattr(cut.exception, "code", "") == "crypto.backup.altered" and not target.exists()
    used = runner.invoke(app, ["restore", str(out), "--home", str(home), *args])
    assert getattr(used.exception, "code", "") == "usage.restore_target"


def test_without_a_passphrase_or_a_terminal_it_says_so(
    tmp_path: Path, sqlite_url: str, record_dict: dict[str, Any]
) -> None:
    import os
    import subprocess
    import sys

    home = _node(tmp_path, sqlite_url, record_dict)
    env = {k: v for k, v in os.environ.items() if k != "CTOP_BACKUP_PASSPHRASE"}
    out = tmp_path / "kz.ctopbak"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ctop_node",
            "backup",
            "--home",
            str(home),
            "--out",
            str(out),
            "--json",
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2
    assert json.loads(done.stdout)["error"]["code"] == "usage.passphrase"
    assert not out.exists()
