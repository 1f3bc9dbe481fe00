"""``ctop-node audit verify|checkpoint|export|verify-export`` on a node's real database
(both databases): exit codes, the position named, and an export checked offline against the
Party CA certificate alone."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from ctop_node.access.audit_chain import AuditChain
from ctop_node.store import open_store
from ctop_node.store.audit import AuditLog
from tests._homes import Home
from tests.unit.access._nodes import Nodes, cli, exchange


@pytest.fixture(autouse=True)
def _acting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands without --user act as the auditor (the audit log is the auditor's)."""
    monkeypatch.setenv("CTOP_USER", "auditor")


@pytest.fixture
def nodes(kz_cn_homes: tuple[Home, Home], db_url: str, record_dict: dict[str, Any]) -> Nodes:
    n = exchange(kz_cn_homes, db_url, record_dict)
    with open_store(db_url) as store:
        chain = AuditChain(AuditLog(store.engine), signer=n.cn.signer, checkpoint_every=4)
        for i in range(1, 11):
            chain.record("officer", "records.show", f"record:KZ/KZ-EV-{i}/v1", origin="cli@t")
    return n


def home(nodes: Nodes) -> str:
    return str(nodes.cn.home)


def test_verify_passes_then_names_the_edited_position(nodes: Nodes) -> None:
    ok = cli("audit", "verify", "--home", home(nodes), "--json")
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.stdout)
    assert report["ok"] and report["entries"] == 10 and report["checkpoints_verified"] == 2
    with open_store(nodes.cn_db) as store, store.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(text("UPDATE audit_log SET purpose = 'court' WHERE seq = 6"))
    bad = cli("audit", "verify", "--home", home(nodes))
    assert bad.exit_code == 1
    assert "position 6" in bad.output


def test_checkpoint_signs_the_head_once(nodes: Nodes) -> None:
    first = cli("audit", "checkpoint", "--home", home(nodes), "--json")
    assert first.exit_code == 0 and json.loads(first.stdout)["seq"] == 10
    again = cli("audit", "checkpoint", "--home", home(nodes), "--json")
    assert json.loads(again.stdout)["seq"] is None


def _export(nodes: Nodes, out: Path, first: int = 3, last: int = 9) -> dict[str, Any]:
    result = cli(
        "audit",
        "export",
        "--home",
        home(nodes),
        "--from",
        str(first),
        "--to",
        str(last),
        "--out",
        str(out),
        "--user",
        "auditor",
    )
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    doc: dict[str, Any] = json.loads(out.read_bytes())
    return doc


def verify_export(nodes: Nodes, path: Path, *cas: Path) -> Any:
    args = ["audit", "verify-export", str(path), "--json"]
    for ca in cas or (nodes.cn.paths.ca_cert,):
        args += ["--ca", str(ca)]
    return cli(*args)


def test_export_verifies_offline_with_the_party_ca(nodes: Nodes, tmp_path: Path) -> None:
    doc = _export(nodes, tmp_path / "range.json")
    assert [e["seq"] for e in doc["entries"]] == list(range(3, 10))
    assert [c["seq"] for c in doc["checkpoints"]] == [4, 8]
    result = verify_export(nodes, tmp_path / "range.json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["checkpoints_verified"] == 2
    # The export itself is audited.
    log = cli("audit", "verify", "--home", home(nodes), "--json")
    assert json.loads(log.stdout)["entries"] == 11
    # Another Party's CA does not vouch for CN's seal.
    other = verify_export(nodes, tmp_path / "range.json", nodes.kz.paths.ca_cert)
    assert other.exit_code == 1 and "audit.no_anchor" in str(other.exception)


@pytest.mark.parametrize(
    ("tamper", "position"),
    [
        ("edit", 5),
        ("delete", 6),
        ("reorder", 4),
        ("truncate", 8),
    ],
)
def test_tampered_export_names_the_position(
    nodes: Nodes, tmp_path: Path, tamper: str, position: int
) -> None:
    doc = _export(nodes, tmp_path / "range.json")
    entries = doc["entries"]
    if tamper == "edit":
        entries[2]["actor"] = "nobody"  # seq 5
    elif tamper == "delete":
        del entries[3]  # seq 6
    elif tamper == "reorder":
        entries[1], entries[2] = entries[2], entries[1]  # seq 4 and 5 swapped
    else:
        del entries[5:]  # ends at 7
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    result = verify_export(nodes, bad)
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["position"] == position


def test_export_refuses_to_overwrite_and_a_missing_range(nodes: Nodes, tmp_path: Path) -> None:
    out = tmp_path / "range.json"
    out.write_text("x")
    assert (
        cli(
            "audit", "export", "--home", home(nodes), "--from", "1", "--to", "2", "--out", str(out)
        ).exit_code
        == 1
    )
    assert out.read_text() == "x"
    result = cli(
        "audit",
        "export",
        "--home",
        home(nodes),
        "--from",
        "5",
        "--to",
        "99",
        "--out",
        str(tmp_path / "r2.json"),
    )
    assert "audit.range" in str(result.exception)


@pytest.mark.parametrize("content", [b"[]", b'{"format": "ctop-audit-export/1"}', b"\xff\xfe"])
def test_a_file_that_is_no_export_is_refused(nodes: Nodes, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk.json"
    path.write_bytes(content)
    result = verify_export(nodes, path)
    assert result.exit_code == 1 and "audit.export_format" in str(result.exception)
