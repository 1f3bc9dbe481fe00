"""``ctop-node watch``: dropped files are ingested and moved to done/ or failed/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


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
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CTOP_LANG": "en"},
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (inbox / "done").iterdir()) == ["good.ndjson"]
    failed = sorted(p.name for p in (inbox / "failed").iterdir())
    assert failed == [
        "broken.xml",
        "broken.xml.errors.json",
        "mixed.ndjson",
        "mixed.ndjson.errors.json",
    ]
    report = json.loads((inbox / "failed" / "mixed.ndjson.errors.json").read_text("utf-8"))
    assert (report["read"], report["to_send"], report["rejected"]) == (2, 1, 1)
    assert report["errors"][0]["record_id"] == "KZ-BAD-1"
    assert report["errors"][0]["field"] == "$.wagons[0].number"
    assert (inbox / "upload.part").exists()  # a file still being written is left alone
    listed = subprocess.run(
        [sys.executable, "-m", "ctop_node", "records", "list", "--db", db, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    ids = {r["record_id"] for r in json.loads(listed.stdout)["records"]}
    assert ids == {record_dict["record_id"], "KZ-OK-2"}
