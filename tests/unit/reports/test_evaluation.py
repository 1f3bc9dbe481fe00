"""Pure parts of the report: quantiles over histograms, outage windows, reconciliation."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ctop_node.errors import ReportError
from ctop_node.reports.evaluation import _outage_windows, quantile
from ctop_node.reports.manifest import Manifest, reconcile


def test_quantile_of_a_histogram_is_the_nearest_rank_of_the_values() -> None:
    rng = random.Random(7)
    values = sorted(rng.randint(-50, 400) for _ in range(1001))
    hist = sorted({v: values.count(v) for v in values}.items())
    assert quantile(hist, 0.5) == statistics.median_low(values)
    assert quantile(hist, 0.9) == values[900]
    assert quantile(hist, 0.99) == values[990]
    assert quantile([], 0.5) is None


def test_overlapping_retried_entries_merge_into_one_window() -> None:
    t = datetime(2026, 11, 1, tzinfo=UTC)
    now = t + timedelta(hours=5)
    rows = [
        (t, t + timedelta(minutes=10), 3),
        (t + timedelta(minutes=5), t + timedelta(minutes=20), 2),
        (t + timedelta(hours=1), None, 4),  # still pending: runs until now
    ]
    windows, entries, retries = _outage_windows(iter(rows), now)
    assert windows == [[t, t + timedelta(minutes=20), 2], [t + timedelta(hours=1), now, 1]]
    assert (entries, retries) == (3, 6)


def _entry(direction: str, party: str, rid: str, digest: str, channel: str) -> dict[str, Any]:
    return {
        "direction": direction,
        "party": party,
        "record_id": rid,
        "version": 1,
        "digest": digest,
        "channel": channel,
        "message_id": None,
        "at": None,
    }


def test_reconcile_lists_each_kind_of_difference_once() -> None:
    kz = Manifest(
        "KZ",
        "2026-11-01",
        "2026-11-01",
        [
            _entry("out", "CN", "A", "a" * 64, "online"),  # held intact
            _entry("out", "CN", "B", "b" * 64, "online"),  # withheld at CN
            _entry("out", "CN", "C", "c" * 64, "online"),  # digest differs
            _entry("out", "CN", "D", "d" * 64, "both"),  # CN has only the lock copy
        ],
    )
    cn = Manifest(
        "CN",
        "2026-11-01",
        "2026-11-01",
        [
            _entry("in", "KZ", "A", "a" * 64, "online"),
            _entry("in", "KZ", "C", "e" * 64, "online"),
            _entry("in", "KZ", "D", "d" * 64, "lock"),
            _entry("in", "KZ", "E", "f" * 64, "online"),  # never sent by KZ
        ],
    )
    kinds = {(d["kind"], d["record_id"]) for d in reconcile(kz, cn)["differences"]}
    assert kinds == {
        ("sent_not_held", "B"),
        ("digest_differs", "C"),
        ("lock_only", "D"),
        ("held_not_sent", "E"),
    }
    intact = Manifest(
        "CN", "2026-11-01", "2026-11-01", [_entry("in", "KZ", "A", "a" * 64, "online")]
    )
    only_a = Manifest("KZ", "2026-11-01", "2026-11-01", kz.entries[:1])
    assert reconcile(only_a, intact)["differences"] == []
    with pytest.raises(ReportError):
        reconcile(kz, kz)
