"""Channel choice at departure: carrier wish and the automatic fallback to the lock."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from ctop_node.ingest.interfaces import RawItem
from ctop_node.ingest.pipeline import Classifier, IngestPipeline
from ctop_node.lock.pending import pending_locks
from ctop_node.rules import NodePolicy
from ctop_node.store import SqlStore
from ctop_node.store.outbox import Outbox

NOW = datetime.now(UTC)
HOUR = timedelta(hours=1)


def ingest(store: SqlStore, record: dict[str, Any], *, crossing: datetime, channel: str) -> str:
    data = copy.deepcopy(record)
    data["channel"] = channel
    data["train"]["planned_crossing_at"] = crossing.isoformat(timespec="seconds")
    summary = IngestPipeline(store, Classifier(NodePolicy("KZ"))).run(
        [RawItem("t", "item 1", data)]
    )
    assert summary.as_dict()["to_send"] == 1
    return str(data["record_id"])


def test_fallback_after_the_threshold_before_the_train_crosses(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    rid = ingest(store, record_dict, crossing=NOW + 5 * HOUR, channel="online")
    later = {**record_dict, "record_id": "KZ-551800-2026-000009"}
    gone = ingest(store, later, crossing=NOW - HOUR, channel="online")  # already crossed
    box = Outbox(store.engine)
    assert pending_locks(store, now=NOW, fallback=HOUR / 2) == []
    box.record_failure("CN", "connection refused", NOW, timedelta(seconds=10))
    # Failing, but not long enough yet.
    assert pending_locks(store, now=NOW, fallback=HOUR / 2) == []
    [item] = pending_locks(store, now=NOW + HOUR, fallback=HOUR / 2)
    assert (item.record_id, item.reason, item.lock_ids) == (rid, "fallback", ("LOCK-0001",))
    assert gone != item.record_id
    # The peer answers again: no fallback.
    box.record_success("CN", NOW + HOUR)
    assert pending_locks(store, now=NOW + 2 * HOUR, fallback=HOUR / 2) == []


def test_carrier_wish_is_listed_whatever_the_link(
    store: SqlStore, record_dict: dict[str, Any]
) -> None:
    ingest(store, record_dict, crossing=NOW + HOUR, channel="both")
    [item] = pending_locks(store, now=NOW, fallback=HOUR)
    assert (item.reason, item.peer, item.outbox_state) == ("carrier:both", "CN", "pending")
