"""The signed checkpoint on a timer (``serve``'s ``ctop-audit`` thread), on both databases,
with an injected clock: the head is signed once per interval when it moved, a restarted node
counts from the last stored checkpoint, the head is signed as the node stops, and a
truncation after a timed checkpoint is found by ``audit verify``."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from ctop_node.access.audit_chain import AuditChain, Checkpointer
from ctop_node.config import NodeSettings
from ctop_node.store import SqlStore
from ctop_node.store.audit import AuditLog
from tests._homes import Home, make_home
from tests.unit.access.test_audit_chain import verify  # the chain as `audit verify` reads it

HOUR = timedelta(hours=1)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def kz(tmp_path: Any) -> Home:
    return make_home(tmp_path, "KZ")


def chain_of(store: SqlStore, kz: Home, clock: Clock) -> AuditChain:
    return AuditChain(AuditLog(store.engine), signer=kz.signer, clock=clock)


def add(chain: AuditChain, n: int) -> None:
    for i in range(n):
        chain.record("officer1", "records.show", f"record:CN/CN-{i}/v1", origin="cli@host")


def test_the_head_is_signed_once_per_interval(store: SqlStore, kz: Home) -> None:
    clock = Clock()
    chain = chain_of(store, kz, clock)
    timer = Checkpointer(chain, HOUR)
    assert timer.tick() is None  # nothing to sign yet
    add(chain, 3)
    clock.now += HOUR / 2
    assert timer.tick() is None  # not due
    clock.now += HOUR / 2
    cp = timer.tick()
    assert cp is not None and cp.seq == 3 and cp.at == clock.now
    clock.now += 2 * HOUR
    assert timer.tick() is None  # due, but the head did not move: nothing new to sign
    add(chain, 2)
    clock.now += HOUR
    second = timer.tick()
    assert second is not None and second.seq == 5
    report = verify(store, kz)
    assert report.ok and report.checkpoints_verified == 2


def test_a_restarted_node_counts_from_the_last_stored_checkpoint(store: SqlStore, kz: Home) -> None:
    clock = Clock()
    chain = chain_of(store, kz, clock)
    add(chain, 2)
    assert chain.checkpoint() is not None
    add(chain, 1)
    restarted = Checkpointer(chain_of(store, kz, clock), HOUR)
    clock.now += HOUR - timedelta(seconds=1)
    assert restarted.tick() is None
    clock.now += timedelta(seconds=1)
    cp = restarted.tick()
    assert cp is not None and cp.seq == 3


def test_the_head_is_signed_when_the_node_stops(store: SqlStore, kz: Home) -> None:
    chain = chain_of(store, kz, Clock())
    add(chain, 4)
    stop = threading.Event()
    stop.set()  # already stopping: run_forever returns at once, after signing the head
    Checkpointer(chain, HOUR).run_forever(stop)
    assert [cp.seq for cp in AuditLog(store.engine).checkpoints()] == [4]


def test_truncation_after_a_timed_checkpoint_is_found(store: SqlStore, kz: Home) -> None:
    clock = Clock()
    chain = chain_of(store, kz, clock)
    timer = Checkpointer(chain, HOUR)
    add(chain, 6)
    assert timer.tick() is not None
    with store.engine.begin() as conn:  # a DBA gets around the append-only triggers
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        conn.execute(text("DELETE FROM audit_log WHERE seq >= 5"))
    report = verify(store, kz)
    assert not report.ok
    assert report.position == 5 and report.problems[0].code == "audit.truncated"


def test_the_interval_is_a_node_setting() -> None:
    assert NodeSettings.model_fields["audit_checkpoint_interval_s"].default == 3600.0
    assert NodeSettings(audit_checkpoint_interval_s=120).audit_checkpoint_interval_s == 120
    with pytest.raises(ValueError):
        Checkpointer(AuditChain(AuditLog.__new__(AuditLog)), timedelta(0))
