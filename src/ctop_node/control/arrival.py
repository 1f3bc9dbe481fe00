"""Status of records and trains in the arrival view: pure decisions, no database.

A record's status comes from how it arrived (the channel reconciliation verdict of its
latest version) and, once control results exist, from what customs decided:

- ``announced``: received online, no lock read yet;
- ``lock_only``: known only from a smart-lock read (no online copy);
- ``arrived``: a lock carrying it was read at the arrival station;
- ``under_control`` / ``released``: from the control results (``ControlOutcomes``).

A train's status summarises its records; ``partly_announced`` means some records of the train
came online and others only by lock (the online announcement of the train is incomplete).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Protocol


class Status(StrEnum):
    ANNOUNCED = "announced"
    PARTLY_ANNOUNCED = "partly_announced"
    LOCK_ONLY = "lock_only"
    ARRIVED = "arrived"
    UNDER_CONTROL = "under_control"
    RELEASED = "released"


class ControlOutcomes(Protocol):
    """Hook for the control results (issue 10, item 4): the customs decision on a record,
    ``under_control`` or ``released``, or None while nothing was recorded."""

    def outcome(self, origin_party: str, record_id: str) -> Status | None: ...


class NoControlResults:
    """Until control results are recorded, no record is under control or released."""

    def outcome(self, origin_party: str, record_id: str) -> Status | None:
        return None


# Reconciliation verdicts (lock.reconcile.ChannelVerdict values) that mean a lock was read.
_READ_AT_ARRIVAL = frozenset({"MATCH", "MISMATCH", "TAMPERED"})


def record_status(verdict: str | None, control: Status | None = None) -> Status:
    if control in (Status.UNDER_CONTROL, Status.RELEASED):
        return control
    if verdict == "LOCK_ONLY":
        return Status.LOCK_ONLY
    if verdict in _READ_AT_ARRIVAL:
        return Status.ARRIVED
    return Status.ANNOUNCED


def train_status(statuses: Iterable[Status]) -> Status:
    seen = list(statuses)
    if not seen:
        return Status.ANNOUNCED
    if all(s is Status.RELEASED for s in seen):
        return Status.RELEASED
    if any(s in (Status.UNDER_CONTROL, Status.RELEASED) for s in seen):
        return Status.UNDER_CONTROL
    if any(s is Status.ARRIVED for s in seen):
        return Status.ARRIVED
    if all(s is Status.LOCK_ONLY for s in seen):
        return Status.LOCK_ONLY
    if any(s is Status.LOCK_ONLY for s in seen):
        return Status.PARTLY_ANNOUNCED
    return Status.ANNOUNCED
