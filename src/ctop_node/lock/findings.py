"""What the arrival officer must know about a lock's journey: pure checks over verified events.

The log is already verified (chain, signatures, device certificate, and it ends with this
reading's ``READ_BY_AUTHORITY`` over the reader's nonce); these checks say whether the
container may have been entered between the departure sealing and the reading:

- ``lock.never_sealed``: no sealing after the payload was written;
- ``lock.opened_before_reading``: an opening (ISO 18185 "opened") before the first authority
  reading (an opening after it is arrival customs' own, authorised action);
- ``lock.tamper``: a tamper alarm (EAEU 01 sealing element broken, 02 housing broken,
  07 unauthorised action) after the sealing, up to this reading;
- ``lock.undeclared``: the lock is not a ``smart_lock_id`` declared in the record.

A lock read twice gives two readings; the reconciliation takes the worst of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ctop_node.lock.events import TAMPER_CODES, EventCode
from ctop_node.lock.verify_log import VerifiedEvent


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    message: str
    events: tuple[int, ...] = ()  # counters of the events that show it

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "events": list(self.events)}


def event_dict(e: VerifiedEvent) -> dict[str, Any]:
    return {"n": e.counter, "t": e.time.isoformat(), "c": e.code, "d": dict(e.data)}


def journey(events: Sequence[VerifiedEvent], payload_id: str) -> list[VerifiedEvent]:
    """Events from the writing of ``payload_id`` up to this reading (the end of the log)."""
    start = next(
        (
            i
            for i, e in enumerate(events)
            if e.code == EventCode.PAYLOAD_WRITTEN and e.data.get("payload_id") == payload_id
        ),
        None,
    )
    return [] if start is None else list(events[start:])


def findings_of(
    events: Sequence[VerifiedEvent],
    *,
    lock_id: str,
    payload_id: str,
    declared_locks: Iterable[str],
) -> list[Finding]:
    trip = journey(events, payload_id)
    found: list[Finding] = []
    sealed_at = next((i for i, e in enumerate(trip) if e.code == EventCode.SEALED), None)
    if sealed_at is None:
        found.append(Finding("lock.never_sealed", f"lock {lock_id} was not sealed after writing"))
    after = trip[sealed_at + 1 :] if sealed_at is not None else trip
    first_reading = next(
        (i for i, e in enumerate(after) if e.code == EventCode.READ_BY_AUTHORITY), len(after)
    )
    openings = [e for e in after[:first_reading] if e.code == EventCode.OPENED]
    opened = [e.counter for e in openings]
    if opened:
        readers = sorted({str(e.data.get("reader_id")) for e in openings})
        found.append(
            Finding(
                "lock.opened_before_reading",
                f"lock {lock_id} was opened before the authority reading (by {', '.join(readers)})",
                tuple(opened),
            )
        )
    alarms = [e for e in after if e.code in TAMPER_CODES]
    if alarms:
        what = ", ".join(f"{EventCode(e.code).name} ({e.code:02d})" for e in alarms)
        found.append(
            Finding(
                "lock.tamper",
                f"lock {lock_id} raised tamper alarms: {what}",
                tuple(e.counter for e in alarms),
            )
        )
    declared = sorted(set(declared_locks))
    if lock_id not in declared:
        found.append(
            Finding(
                "lock.undeclared",
                f"lock {lock_id} is not the smart lock declared in the record "
                f"({', '.join(declared) or 'none declared'})",
            )
        )
    return found


def declared_locks(record_or_summary: dict[str, Any]) -> list[str]:
    """The ``smart_lock_id`` of every container of a record (or of a digest-mode summary)."""
    containers = record_or_summary.get("containers") or []
    return [
        str(c["smart_lock_id"])
        for c in containers
        if isinstance(c, dict) and isinstance(c.get("smart_lock_id"), str)
    ]
