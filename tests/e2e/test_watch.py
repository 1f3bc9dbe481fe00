"""``ctop-node watch``: dropped files are ingested and moved to done/ or failed/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests._users import add_role_users


def test_watch_once_moves_files_and_writes_error_reports(
    tmp_path: Path, record_dict: dict[str, Any]
) -> None:
    inbox = tmp_path / "drop"
    inbox.mkdir()
    (inbox / "good.ndjson").write_text(json.dumps(record_dict) + "\n", "utf-8")
    bad = json.loads(json.dumps(record_dict))
    bad["record_id"] = "KZ-BAD-1"
    bad["wagons"][0]["number"] = "52000511"
    (inbox / "mixed.ndjson").write_text(
        json.dumps({**record_dict, "record_id": "KZ-OK-2"}) + "\n" + json.dumps(bad) + "\n",
        "utf-8",
    )
    (inbox / "broken.xml").write_text("<consignments><consignment>", "utf-8")
    (inbox / "upload.part").write_text("still being written", "utf-8")
    key = tmp_path / "keys" / "sign.key"
    key.parent.mkdir()
    key.write_text("-----BEGIN PRIVATE KEY-----\nSECRETKEYLINE0123456789\n", "utf-8")
    (inbox / "k.csv").symlink_to(key)
    db = f"sqlite:///{tmp_path / 'node.db'}"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ctop_node",
            "watch",
            str(inbox),
            "--once",
            "--party",
            "KZ",
            "--db",
            db,
            "--quiet-period",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CTOP_LANG": "en"},
    )
    assert proc.returncode == 1, proc.stderr  # --once: something was rejected or failed
    done = sorted(p.name for p in (inbox / "done").iterdir())
    assert done == ["good.ndjson", "mixed.ndjson", "mixed.ndjson.errors.json"]
    failed = sorted(p.name for p in (inbox / "failed").iterdir())
    assert failed == ["broken.xml", "broken.xml.errors.json", "k.csv", "k.csv.errors.json"]
    assert (inbox / "failed" / "k.csv").is_symlink()
    assert "SECRETKEYLINE" not in (inbox / "failed" / "k.csv.errors.json").read_text("utf-8")
    assert (inbox / "done" / "mixed.ndjson.errors.json").stat().st_mode & 0o777 == 0o600
    report = json.loads((inbox / "done" / "mixed.ndjson.errors.json").read_text("utf-8"))
    assert (report["read"], report["to_send"], report["rejected"]) == (2, 1, 1)
    assert report["errors"][0]["record_id"] == "KZ-BAD-1"
    assert report["errors"][0]["field"] == "$.wagons[0].number"
    assert (inbox / "upload.part").exists()  # a file still being written is left alone
    add_role_users(db)
    listed = subprocess.run(
        [sys.executable, "-m", "ctop_node", "records", "list", "--db", db, "--json"],
        env={**os.environ, "CTOP_USER": "arrival_officer"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    ids = {r["record_id"] for r in json.loads(listed.stdout)["records"]}
    assert ids == {record_dict["record_id"], "KZ-OK-2"}


def test_watch_once_exits_zero_when_everything_was_taken(
    tmp_path: Path, record_dict: dict[str, Any]
) -> None:
    inbox = tmp_path / "drop"
    inbox.mkdir()
    (inbox / "good.ndjson").write_text(json.dumps(record_dict) + "\n", "utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "ctop_node", "watch", str(inbox), "--once", "--party", "KZ"]
        + ["--db", f"sqlite:///{tmp_path / 'node.db'}", "--quiet-period", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CTOP_LANG": "en"},
    )
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in (inbox / "done").iterdir()] == ["good.ndjson"]
