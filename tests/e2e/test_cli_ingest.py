"""End to end through the real ``ctop-node`` command: sample -> ingest -> records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests._users import add_role_users

OUTCOMES = ("to_send", "not_applicable", "excluded", "refused", "rejected")


def ctop(
    *args: str, cwd: Path, check_codes: tuple[int, ...] = (0, 1)
) -> subprocess.CompletedProcess[str]:
    # Records are read as an arrival officer of the database (see _reads below).
    env = {**os.environ, "CTOP_LANG": "en", "CTOP_USER": "arrival_officer"}
    proc = subprocess.run(
        [sys.executable, "-m", "ctop_node", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode in check_codes, proc.stderr
    return proc


def _ingest(tmp_path: Path, *args: str, db: str) -> tuple[int, dict[str, Any]]:
    proc = ctop("ingest", *args, "--party", "KZ", "--db", db, "--json", cwd=tmp_path)
    return proc.returncode, json.loads(proc.stdout)


def test_sample_ingest_adds_up_and_is_idempotent(tmp_path: Path, db_url: str) -> None:
    sample = tmp_path / "kz.ndjson"
    ctop(
        "sample",
        "--trains",
        "3",
        "--seed",
        "7",
        "--party",
        "KZ",
        "--out",
        str(sample),
        cwd=tmp_path,
    )
    lines = sample.read_text("utf-8").splitlines()
    code, first = _ingest(tmp_path, str(sample), db=db_url)
    assert first["read"] == len(lines)
    assert sum(first[k] for k in OUTCOMES) == first["read"]
    assert first["to_send"] > 0 and first["rejected"] > 0 and first["excluded"] > 0
    assert code == 1  # some sample records are deliberately invalid
    for err in first["errors"]:
        assert set(err) >= {"record_id", "field", "code", "message"}
    # Same file again: nothing new, same outcomes.
    _, again = _ingest(tmp_path, str(sample), db=db_url)
    assert {k: again[k] for k in OUTCOMES} == {k: first[k] for k in OUTCOMES}
    assert again["new_versions"] == 0
    assert again["unchanged"] == first["new_versions"]
    add_role_users(db_url)
    listed = ctop("records", "list", "--db", db_url, "--json", "--limit", "1000", cwd=tmp_path)
    rows = json.loads(listed.stdout)["records"]
    assert len(rows) == first["new_versions"]


def test_changed_record_becomes_version_two(
    tmp_path: Path, sqlite_url: str, record_dict: dict[str, Any]
) -> None:
    f = tmp_path / "one.ndjson"
    f.write_text(json.dumps(record_dict) + "\n", "utf-8")
    code, out = _ingest(tmp_path, str(f), db=sqlite_url)
    assert (code, out["to_send"], out["new_versions"]) == (0, 1, 1)
    record_dict["goods"][0]["value"] = "7000.00"
    f.write_text(json.dumps(record_dict) + "\n", "utf-8")
    code, out = _ingest(tmp_path, str(f), db=sqlite_url)
    assert (code, out["new_versions"]) == (0, 1)
    add_role_users(sqlite_url)
    shown = ctop(
        "records", "show", record_dict["record_id"], "--db", sqlite_url, "--json", cwd=tmp_path
    )
    assert '"7000.00"' in shown.stdout


def test_bad_lines_are_named_and_the_rest_goes_in(
    tmp_path: Path, sqlite_url: str, record_dict: dict[str, Any]
) -> None:
    good2 = {**record_dict, "record_id": "KZ-2"}
    secret = {**record_dict, "record_id": "KZ-3", "flags": {"state_secret": True}}
    bad = json.loads(json.dumps(record_dict))
    bad["record_id"] = "KZ-4"
    bad["containers"][0]["number"] = "CSQU3054384"
    lines = [
        json.dumps(record_dict),
        "{not json",
        json.dumps(good2),
        json.dumps(secret),
        json.dumps(bad),
        "[1, 2]",
    ]
    f = tmp_path / "mixed.ndjson"
    f.write_text("\n".join(lines) + "\n", "utf-8")
    code, out = _ingest(tmp_path, str(f), db=sqlite_url)
    assert code == 1
    assert (out["read"], out["to_send"], out["refused"], out["rejected"]) == (6, 2, 1, 3)
    by_code = {e["code"]: e for e in out["errors"]}
    assert by_code["record.container.check_digit"]["record_id"] == "KZ-4"
    assert by_code["record.container.check_digit"]["field"] == "$.containers[0].number"
    assert "line 2" in by_code["input.json"]["position"]
    assert by_code["art6.state_secret"]["record_id"] == "KZ-3"
    # The refused record's body is nowhere in the store (asked as a user who may read it).
    add_role_users(sqlite_url)
    shown = ctop(
        "records", "show", "KZ-3", "--db", sqlite_url, "--json", cwd=tmp_path, check_codes=(0, 1)
    )
    assert json.loads(shown.stdout).get("error", {}).get("code") != "access.denied"
    assert "CSQU3054383" not in shown.stdout


def test_usage_errors_exit_2(tmp_path: Path, sqlite_url: str) -> None:
    f = tmp_path / "x.weird"
    f.write_text("{}", "utf-8")
    proc = ctop(
        "ingest", str(f), "--party", "KZ", "--db", sqlite_url, cwd=tmp_path, check_codes=(2,)
    )
    assert "format" in proc.stderr.lower()
    proc = ctop(
        "ingest",
        str(tmp_path / "missing.ndjson"),
        "--party",
        "KZ",
        "--db",
        sqlite_url,
        cwd=tmp_path,
        check_codes=(2,),
    )
