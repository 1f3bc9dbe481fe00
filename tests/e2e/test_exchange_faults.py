"""Process faults of the exchange between two real ``ctop-node serve`` processes over mutual
TLS on loopback (KZ sends, CN receives). Each test: the fault / result, counted from both
databases (``exchange_counts``), never from the sender's own belief.

- CN down for a while, new versions queued meanwhile / the backlog drains by itself after
  CN is back, every version applied in order, nothing lost or duplicated;
- KZ killed with SIGKILL at 50+ random points of a 10,000-record stream / after the last
  restart everything is delivered, stored exactly once, not corrupted;
- CN exits right after committing a batch and before answering / KZ retries the same
  messages and gets the original receipts back; nothing is stored twice.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import func, select

from ctop_node.store.schema import outbox
from tests._faults import CRASH_EXIT_CODE
from tests.e2e.conftest import Pair, changed, records_for, start, wait_until

KILLS = 50
STREAM = 10_000
# The clearance system posts the stream in chunks, one per sender life: every life has work
# (a pipelined sender drains 1,000 records in well under a life).
CHUNK = STREAM // KILLS
KILL_SEED = 20211
MAX_LIFE_S = 0.6  # a sender life lasts a uniform random time in [0, MAX_LIFE_S] after ready
# The pytest timeout of the stream test scales with its work instead of the suite's fixed
# 300 s: each life is a cold start of a node plus an ingest (~15 s when the 2-core machine
# runs at a load of 11), and every record is ingested, sealed, sent and applied. The waits
# inside are progress-based (wait_drained fails after DRAIN_S without progress), so a stuck
# exchange fails long before this; the budget only bounds a machine that is slow, not stuck.
LIFE_BUDGET_S = 30.0
RECORD_BUDGET_S = 0.05
STREAM_BUDGET_S = KILLS * LIFE_BUDGET_S + STREAM * RECORD_BUDGET_S


def _sealed_pending(pair: Pair) -> int:
    query = select(func.count()).where(outbox.c.state == "pending", outbox.c.message.is_not(None))
    with pair.engine(pair.kz).connect() as conn:
        return int(conn.execute(query).scalar_one())


def _assert_exact(pair: Pair, sent: int) -> None:
    c = pair.counts()
    assert (c.sent, c.delivered, c.stored_at_peer) == (sent, sent, sent), c
    assert (c.pending, c.rejected, c.dead) == (0, 0, 0), c
    assert (c.duplicates, c.lost, c.corrupted, c.unexpected) == (0, 0, 0, 0), c
    # Exactly once in CN's inbox too: one applied row per version KZ sent. A message kept
    # sealed longer than ``reseal_after`` (kills on a loaded machine) is sealed anew under a
    # new id; CN answers that copy `duplicate` and applies nothing twice.
    sent_ids = {r.message_id for r in pair.outbox_rows()}
    rows = pair.inbox_rows()
    assert len(rows) == len({r.message_id for r in rows})
    applied = {(r.record_id, r.version) for r in rows if r.state == "applied"}
    assert len(applied) == len([r for r in rows if r.state == "applied"]) == sent
    assert {r.state for r in rows} <= {"applied", "duplicate"}
    assert {(r.record_id, r.version) for r in rows if r.state == "duplicate"} <= applied
    assert sent_ids <= {r.message_id for r in rows}


def test_peer_down_then_back_drains_backlog_in_version_order(
    pair_any_db: Pair, record_dict: dict[str, Any]
) -> None:
    pair = pair_any_db
    recs = records_for(record_dict, 30, prefix="DOWN")
    pair.ingest(pair.kz, recs)
    pair.wait_drained()

    pair.cn.kill()
    twice, once = recs[:10], recs[10:20]
    pair.ingest(pair.kz, [changed(r, 2) for r in twice + once])
    pair.ingest(pair.kz, [changed(r, 3) for r in twice])
    fresh = records_for(record_dict, 10, prefix="NEW")
    pair.ingest(pair.kz, fresh)
    wait_until("KZ's sender counted CN down", lambda: pair.peer_failures() >= 2, 60)
    assert pair.outbox_states()["pending"] == 20 + 10 + 10

    start(pair.cn)  # nobody tells KZ: its sender must find out by itself
    pair.wait_drained()
    _assert_exact(pair, 30 + 20 + 10 + 10)
    assert pair.peer_failures() == 0

    versions: dict[str, list[int]] = defaultdict(list)
    for row in pair.received():  # in the order CN applied them
        versions[row.record_id].append(row.version)
    for r in twice:
        assert versions[r["record_id"]] == [1, 2, 3]
    for r in once:
        assert versions[r["record_id"]] == [1, 2]
    for r in recs[20:] + fresh:
        assert versions[r["record_id"]] == [1]
    # No version had to wait for its predecessor: KZ sent them in order (a parked version
    # is applied by a later transaction, so its applied_at would differ).
    assert all(r.applied_at == r.received_at for r in pair.inbox_rows())


def test_receiver_killed_after_commit_before_answer_gets_no_duplicate(
    nodes_any_db: Pair, record_dict: dict[str, Any]
) -> None:
    pair = nodes_any_db
    # CN runs the test-only entry point: the same node with a crash injected by parameter.
    start(pair.cn, module=("tests._faulty_node", "--crash-after-commit", "1"))
    start(pair.kz)
    recs = records_for(record_dict, 40, prefix="CRASH")
    pair.ingest(pair.kz, recs)
    proc = pair.cn.proc
    assert proc is not None
    wait_until("CN exited after its first commit", lambda: proc.poll() is not None, 60)
    assert pair.cn.stop() == CRASH_EXIT_CODE
    log = (pair.cn.home / "serve.log").read_text("utf-8")
    assert "test fault: exiting after committed batch 1" in log

    committed = {r.message_id: r.answer for r in pair.inbox_rows()}
    assert committed, "the crash came before anything was committed"
    by_id = {r.message_id: r for r in pair.outbox_rows()}
    # KZ never saw those answers: the entries are still pending.
    assert all(by_id[mid].state == "pending" and by_id[mid].answer is None for mid in committed)

    start(pair.cn)  # the same node, as production runs it
    pair.wait_drained()
    _assert_exact(pair, 40)
    by_id = {r.message_id: r for r in pair.outbox_rows()}
    for mid, answer in committed.items():
        assert by_id[mid].answer == answer  # the original signed receipt, byte for byte


@pytest.mark.slow
@pytest.mark.timeout(STREAM_BUDGET_S)
def test_sender_killed_many_times_in_a_stream_loses_and_duplicates_nothing(
    nodes: Pair, record_dict: dict[str, Any]
) -> None:
    pair = nodes
    rng = random.Random(KILL_SEED)
    stream = records_for(record_dict, STREAM, prefix="KILL")
    chunks = [stream[i : i + CHUNK] for i in range(0, STREAM, CHUNK)]
    start(pair.cn)
    in_flight_kills = 0
    for life in range(KILLS):
        start(pair.kz)
        if life < len(chunks):
            pair.ingest(pair.kz, chunks[life])
        time.sleep(rng.uniform(0.0, MAX_LIFE_S))  # the random kill point, not a wait
        pair.kz.kill()
        # Sealed (and so maybe sent) but not settled when the process died.
        in_flight_kills += int(_sealed_pending(pair) > 0)
    # The kills must have hit a working sender, not an idle one.
    assert in_flight_kills >= KILLS // 5, in_flight_kills
    start(pair.kz)
    pair.wait_drained()
    _assert_exact(pair, STREAM)
