"""``ctop-node purge`` on both databases: peer record bodies older than the period go (the
body, the raw message and payload in the inbox); rows, digests, counts and the audit chain
stay, and the purge itself is audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from ctop_node.config import write_node_config
from ctop_node.errors import AuditError, UsageError
from ctop_node.store import open_store
from ctop_node.store.audit import AuditLog
from ctop_node.store.schema import inbox
from tests._homes import Home
from tests.unit.access._nodes import Nodes, cli, exchange


@pytest.fixture(autouse=True)
def _acting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands without --user act as the admin (purge is the administrator's)."""
    monkeypatch.setenv("CTOP_USER", "admin")


@pytest.fixture
def nodes(kz_cn_homes: tuple[Home, Home], db_url: str, record_dict: dict[str, Any]) -> Nodes:
    return exchange(kz_cn_homes, db_url, record_dict)


def tomorrow() -> str:
    return (datetime.now(UTC).date() + timedelta(days=1)).isoformat()


def test_purge_removes_peer_bodies_and_keeps_digests_counts_and_audit(nodes: Nodes) -> None:
    home = str(nodes.cn.home)
    with open_store(nodes.cn_db) as store:
        counts = store.outcome_counts()
        digests = {r.record_id: r.digest for r in store.list_records()}
    result = cli("purge", "--before", tomorrow(), "--home", home, "--user", "admin", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["purged"] == len(nodes.record_ids)
    with open_store(nodes.cn_db) as store:
        assert store.outcome_counts() == counts
        assert {r.record_id: r.digest for r in store.list_records()} == digests
        for rid in nodes.record_ids:
            row = store.get_record(rid)
            assert row is not None and row.body == {}
        with store.engine.connect() as conn:
            stored = conn.execute(
                select(inbox.c.message, inbox.c.payload, inbox.c.message_digest)
            ).all()
        assert stored and all(m == b"" and p is None and len(d) == 64 for m, p, d in stored)
        last = AuditLog(store.engine).last()
    assert last is not None and (last.actor, last.action, last.seq) == (
        "admin",
        "records.purge",
        report["audit_seq"],
    )
    assert json.loads(last.detail)["purged"] == len(nodes.record_ids)
    assert cli("audit", "verify", "--home", home, "--user", "auditor").exit_code == 0
    # Done once: a second purge finds nothing more; an evidence bundle is refused, saying why.
    again = cli("purge", "--before", tomorrow(), "--home", home, "--json")
    assert json.loads(again.stdout)["purged"] == 0
    refused = cli(
        "evidence",
        "pack",
        nodes.record_ids[0],
        "--home",
        home,
        "--out",
        str(nodes.cn.home / "e.zip"),
        "--user",
        "supervisor",
    )
    assert isinstance(refused.exception, AuditError) and refused.exception.code == "evidence.purged"


def test_our_own_records_and_younger_peer_records_are_kept(nodes: Nodes) -> None:
    with open_store(nodes.kz_db) as kz_store:
        before = kz_store.get_record(nodes.record_ids[0])
    assert cli("purge", "--before", tomorrow(), "--home", str(nodes.kz.home)).exit_code == 0
    with open_store(nodes.kz_db) as kz_store:
        assert kz_store.get_record(nodes.record_ids[0]) == before  # "out": not peer data
    write_node_config(nodes.cn.home, {"party": "CN", "db_url": nodes.cn_db, "retention_days": 30})
    result = cli("purge", "--home", str(nodes.cn.home), "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["purged"] == 0
    with open_store(nodes.cn_db) as store:
        row = store.get_record(nodes.record_ids[0])
        assert row is not None and row.body["record_id"] == nodes.record_ids[0]


def test_no_period_no_purge(nodes: Nodes) -> None:
    result = cli("purge", "--home", str(nodes.cn.home))
    assert isinstance(result.exception, UsageError)
    assert isinstance(
        cli("purge", "--before", "yesterday", "--home", str(nodes.cn.home)).exception, UsageError
    )
