"""Operator readings and repairs on SQLite and PostgreSQL: counts per peer and state, the
delivery latency histogram, final failures by code, requeueing dead entries, and the ping
that /readyz relies on failing once the database is gone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ctop_node.errors import StorageError
from ctop_node.store import SqlStore, open_store
from ctop_node.store.operations import LATENCY_BUCKETS, OperationsQueries
from ctop_node.store.outbox import Dead, Delivered, Outbox, Rejected
from tests.unit.store._entries import entry, with_id

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _queued(store: SqlStore, record: dict[str, Any], n: int, peers: tuple[str, ...]) -> None:
    recs = [with_id(record, f"OPS-{i}") for i in range(n)]
    store.write_batch([entry(r, peers=peers) for r in recs], origin_party="KZ")


def test_readings_per_peer_state_and_code(store: SqlStore, record_dict: dict[str, Any]) -> None:
    _queued(store, record_dict, 5, ("CN", "RU"))
    box, ops = Outbox(store.engine), OperationsQueries(store.engine)
    far = T0 + timedelta(days=3650)
    items = box.due("CN", 10, far)
    created = {i.id: box.entry(i.id)["created_at"] for i in items}  # type: ignore[index]
    # delivered 0.3 s, 3 s and 2 h after queueing; one rejected by the peer, one given up
    delays = [0.3, 3.0, 7200.0]
    box.settle(
        [
            Delivered(i.id, b"r", created[i.id] + timedelta(seconds=d))
            for i, d in zip(items[:3], delays, strict=True)
        ]
        + [
            Rejected(items[3].id, b"x", "record.container.check_digit", "bad", far),
            Dead(items[4].id, "crypto.untrusted", "no trust", far),
        ]
    )
    counts = ops.outbox_counts()
    assert counts[("CN", "delivered")] == 3 and counts[("RU", "pending")] == 5
    assert counts[("CN", "rejected")] == 1 and counts[("CN", "dead")] == 1
    assert ("CN", "pending") not in counts
    assert set(ops.oldest_pending()) == {"RU"}
    assert ops.final_failures() == {
        ("CN", "rejected", "record.container.check_digit"): 1,
        ("CN", "dead", "crypto.untrusted"): 1,
    }
    [hist] = ops.delivery_latency()
    assert hist.peer == "CN" and hist.count == 3
    assert hist.sum_s == pytest.approx(sum(delays), abs=0.01)
    expected = tuple(sum(1 for d in delays if d <= b) for b in LATENCY_BUCKETS)
    assert hist.buckets == expected  # cumulative, as Prometheus wants them
    assert ops.inbox_counts() == {} and ops.lock_read_counts() == {}


def test_requeue_dead_entries(store: SqlStore, record_dict: dict[str, Any]) -> None:
    _queued(store, record_dict, 3, ("CN", "RU"))
    box, ops = Outbox(store.engine), OperationsQueries(store.engine)
    far = T0 + timedelta(days=3650)
    cn = box.due("CN", 10, far)
    ru = box.due("RU", 10, far)
    box.settle([Dead(i.id, "transport.gave_up", "down", far) for i in (*cn, ru[0])])
    box.settle([Delivered(ru[1].id, b"r", far)])
    assert ops.requeue_dead(far, ids=[cn[0].id]) == [cn[0].id]
    assert sorted(ops.requeue_dead(far, peer="CN")) == [cn[1].id, cn[2].id]
    assert ops.requeue_dead(far, peer="CN") == []  # nothing dead left for CN
    again = box.entry(cn[0].id)
    assert again is not None and again["state"] == "pending" and again["attempts"] == 0
    assert again["answer_code"] is None and again["delivered_at"] is None
    assert [i.id for i in box.due("CN", 10, far)] == [i.id for i in cn]  # due again, in order
    assert ops.requeue_dead(far) == [ru[0].id]  # the rest; a delivered entry is left alone
    assert box.entry(ru[1].id)["state"] == "delivered"  # type: ignore[index]


def test_ping_fails_once_a_sqlite_file_is_removed(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    with open_store(f"sqlite:///{path}") as store:
        ops = OperationsQueries(store.engine)
        ops.ping()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        with pytest.raises(StorageError, match="gone") as err:
            ops.ping()
        assert err.value.code == "store.unavailable"


def test_ping_fails_once_the_postgresql_schema_is_gone(pg_url: str) -> None:
    import psycopg

    schema = pg_url.rsplit("%3D", 1)[1]
    with open_store(pg_url) as store:
        ops = OperationsQueries(store.engine)
        ops.ping()
        raw = pg_url.split("?")[0].replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(raw, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
            conn.execute(f'CREATE SCHEMA "{schema}"')  # empty: the node's tables are gone
        with pytest.raises(StorageError):
            ops.ping()
