"""Record and train status in the arrival view."""

from __future__ import annotations

import pytest

from ctop_node.control.arrival import NoControlResults, Status, record_status, train_status


@pytest.mark.parametrize(
    ("verdict", "control", "expected"),
    [
        (None, None, Status.ANNOUNCED),
        ("ONLINE_ONLY", None, Status.ANNOUNCED),
        ("LOCK_ONLY", None, Status.LOCK_ONLY),
        ("MATCH", None, Status.ARRIVED),
        ("MISMATCH", None, Status.ARRIVED),
        ("TAMPERED", None, Status.ARRIVED),
        ("MATCH", Status.UNDER_CONTROL, Status.UNDER_CONTROL),
        ("ONLINE_ONLY", Status.RELEASED, Status.RELEASED),
    ],
)
def test_record_status(verdict: str | None, control: Status | None, expected: Status) -> None:
    assert record_status(verdict, control) is expected


A, L, R, U, V = (
    Status.ANNOUNCED,
    Status.LOCK_ONLY,
    Status.RELEASED,
    Status.UNDER_CONTROL,
    Status.ARRIVED,
)


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ([A, A], A),
        ([L, L], L),
        ([A, L], Status.PARTLY_ANNOUNCED),
        ([A, V], V),
        ([V, U], U),
        ([R, A], U),
        ([R, R], R),
        ([], A),
    ],
)
def test_train_status(records: list[Status], expected: Status) -> None:
    assert train_status(records) is expected


def test_no_control_results_yet() -> None:
    assert NoControlResults().outcome("KZ", "X") is None
