"""examples/foreign_peer.py, a client written from docs/protocol/ alone (cryptography, cbor2,
httpx; nothing of ctop-node), exchanges with a real ctop-node over mutual TLS: consignment,
amendment and cancellation are receipted (signed status applied), an amendment of the
cancelled record and a bad currency are rejected with their documented codes, and every
message stored on both sides validates against docs/protocol/ctop.cddl."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from cddl_verifier import Validator
from sqlalchemy import select

from ctop_node.crypto.node import NodePaths
from ctop_node.crypto.trust import export_trust
from ctop_node.store.schema import inbox
from tests.e2e.conftest import Pair, changed, records_for, start

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "foreign_peer.py"
ALLOWED = {"cryptography", "cbor2", "httpx"}


def test_the_example_imports_nothing_of_ctop_node() -> None:
    tree = ast.parse(EXAMPLE.read_text("utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    foreign = names - ALLOWED - set(sys.stdlib_module_names) - {"__future__"}
    assert foreign == set(), foreign
    assert ALLOWED <= names


def test_a_foreign_client_exchanges_with_a_node(nodes: Pair, tmp_path: Path) -> None:
    start(nodes.cn)
    bundle = tmp_path / "cn-trust.json"
    export_trust(nodes.cn.home, bundle)
    kz = NodePaths(nodes.kz.home)
    keys = {
        "--sign-key": kz.sign_key,
        "--sign-cert": kz.sign_cert,
        "--enc-key": kz.enc_key,
        "--enc-cert": kz.enc_cert,
        "--tls-key": kz.tls_key,
        "--tls-cert": kz.tls_cert,
    }
    args = [sys.executable, str(EXAMPLE), "--url", nodes.cn.peer_url, "--party", "KZ"]
    args += ["--peer-bundle", str(bundle)]
    for flag, path in keys.items():
        args += [flag, str(path)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    steps = {s["step"]: s for s in report["steps"]}
    assert [s["passed"] for s in report["steps"]] == [True] * 5, report
    assert [s["receipt_status"] for s in report["steps"][:3]] == ["applied"] * 3
    assert steps["amendment after cancellation"]["code"] == "exchange.cancelled"
    assert steps["bad currency"]["code"] == "record.code_list.currency"
    assert report["peer"]["party"] == "CN"

    # What CN stored: two versions, the cancellation, the refused amendment and the rejected
    # record, each with its signed answer.
    query = select(inbox.c.type, inbox.c.state, inbox.c.message, inbox.c.answer).order_by(
        inbox.c.received_at
    )
    with nodes.engine(nodes.cn).connect() as conn:
        rows = list(conn.execute(query))
    assert [(r.type, r.state) for r in rows] == [
        ("CONSIGNMENT", "applied"),
        ("AMENDMENT", "applied"),
        ("CANCELLATION", "applied"),
        ("AMENDMENT", "rejected"),
        ("CONSIGNMENT", "rejected"),
    ]
    schema = Validator(ROOT / "docs" / "protocol" / "ctop.cddl")
    for row in rows:
        for raw in (row.message, row.answer):
            result = schema.validate(raw, require_deterministic=True)
            assert result.valid, result.errors


def test_what_two_running_nodes_exchange_validates(pair: Pair, record_dict: dict[str, Any]) -> None:
    """The real sender's messages and the real receiver's answers, as both databases keep
    them, match the first rule of ctop.cddl."""
    recs = records_for(record_dict, 3, prefix="CDDL")
    pair.ingest(pair.kz, recs)
    pair.ingest(pair.kz, [changed(recs[0], 2)])
    pair.wait_drained()
    sent = pair.outbox_rows()
    assert len(sent) == 4 and {r.state for r in sent} == {"delivered"}
    with pair.engine(pair.cn).connect() as conn:
        received = list(conn.execute(select(inbox.c.message, inbox.c.answer)))
    assert {r.message for r in received} == {r.message for r in sent}
    schema = Validator(ROOT / "docs" / "protocol" / "ctop.cddl")
    for raw in [
        *(r.message for r in sent),
        *(r.answer for r in sent),
        *(r.answer for r in received),
    ]:
        result = schema.validate(raw, require_deterministic=True)
        assert result.valid, result.errors
