"""The smart-lock channel between two real nodes (KZ departs, CN arrives) on loopback:

the link is cut (CN stopped) / KZ's officer writes the records with smart locks to their
locks, one lock is tampered on the way, CN reads the locks while the link is still down /
CN stores the lock copies (LOCK_ONLY, TAMPERED); the link comes back / KZ's sender delivers
its online copies by itself, CN answers each with a signed RECEIPT and stores no second copy;
the verdicts become MATCH, TAMPERED and ONLINE_ONLY.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from typer.testing import CliRunner

from ctop_node.cli import app
from ctop_node.lock.reconcile import verdict_counts
from ctop_node.model.messages import MessageType, Receipt
from ctop_node.store.schema import records
from tests.e2e.conftest import Pair, records_for, start, wait_until


def cli(*args: str | Path) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def _train(record_dict: dict[str, Any]) -> list[dict[str, Any]]:
    crossing = (datetime.now(UTC) + timedelta(days=1)).isoformat(timespec="seconds")
    recs = records_for(record_dict, 4, prefix="LOCK")
    for i, r in enumerate(recs):
        r["train"]["planned_crossing_at"] = crossing
        r["containers"] = copy.deepcopy(r["containers"])
        if i < 3:
            r["channel"] = "both"
            r["containers"][0]["smart_lock_id"] = f"LOCK-E2E-{i}"
        else:
            r["containers"][0].pop("smart_lock_id", None)
    return recs


def test_link_cut_locks_read_then_link_back_reconciles(
    pair: Pair, record_dict: dict[str, Any], tmp_path: Path
) -> None:
    pair.cn.stop()
    recs = _train(record_dict)
    pair.ingest(pair.kz, recs)
    wait_until("KZ's sender counted CN down", lambda: pair.peer_failures() >= 1, 60)

    pending = json.loads(cli("lock", "pending", "--home", pair.kz.home, "--json"))["pending"]
    assert sorted(p["lock_ids"][0] for p in pending) == [f"LOCK-E2E-{i}" for i in range(3)]
    carrier = tmp_path / "carrier"
    cli("lock", "carrier-ca", "--out", carrier)
    locks = []
    for p in pending:
        lock = tmp_path / f"{p['lock_ids'][0]}.lock"
        cli("lock", "provision", p["lock_ids"][0], "--carrier", carrier, "--out", lock)
        cli("lock", "write", p["record_id"], "--lock", lock, "--home", pair.kz.home)
        cli("lock", "event", "position", "--lock", lock, "--lat", "45.2", "--lon", "82.5")
        locks.append(lock)
    cli("lock", "event", "tamper", "--lock", locks[2])  # housing forced on the way

    # Arrival while the link is still down: CN's officer reads the three locks.
    cli("lock", "trust-carrier", carrier / "carrier-ca.pem", "--home", pair.cn.home)
    for lock in locks:
        read = json.loads(cli("lock", "read", lock, "--home", pair.cn.home, "--json"))
        assert read["inbox_state"] == "applied"
    counts = verdict_counts(pair.store(pair.cn))
    assert (counts["LOCK_ONLY"], counts["TAMPERED"], counts["ONLINE_ONLY"]) == (2, 1, 0)

    start(pair.cn)  # the link is back; KZ's sender finds out by itself
    pair.wait_drained()
    rows = pair.outbox_rows()
    assert len(rows) == 4 and {r.state for r in rows} == {"delivered"}
    for r in rows:  # every online copy is answered with a valid signed RECEIPT
        answer = pair.open_answer(r.answer)
        assert answer.header.type is MessageType.RECEIPT
        assert answer.header.correlation_id == r.message_id
        assert Receipt.model_validate_json(answer.payload).message_id == r.message_id
    with pair.engine(pair.cn).connect() as conn:
        stored = conn.execute(
            select(records.c.record_id, func.count()).group_by(records.c.record_id)
        ).all()
    assert sorted(n for _, n in stored) == [1, 1, 1, 1]  # one record each, no duplicate
    assert verdict_counts(pair.store(pair.cn)) == {
        "MATCH": 2,
        "MISMATCH": 0,
        "TAMPERED": 1,
        "LOCK_ONLY": 0,
        "ONLINE_ONLY": 1,
    }
    shown = json.loads(
        cli(
            *("records", "show", recs[0]["record_id"], "--home", pair.cn.home, "--json"),
            *("--user", "arrival_officer"),
        )
    )
    assert shown["reconciliation"]["1"]["channels"] == ["online", "lock"]
