"""Discrepancies of a record, computed from stored facts, never typed by anyone.

Pure functions: the record body as announced, the channel reconciliation verdict, the lock
reads, the control results recorded at arrival and the record's cancellation time go in; a
list of :class:`Found` comes out, each with a stable code, the field it concerns and what was
expected against what was found. The arrival pages and the API show the same list.

Codes:

- ``lock.online_mismatch``: the lock carried another content than the online message;
- ``lock.tampered`` / ``lock.opened``: the lock reports tampering, or an opening before the
  arrival reading;
- ``lock.id_differs`` / ``seal.differs``: a lock or seals other than the declared ones;
- ``seal.broken`` / ``seal.missing``: the officer's seal check;
- ``container.not_announced``: a container seen at arrival (lock read or officer) that no
  online announcement declared;
- ``mass.beyond_tolerance``: declared gross mass vs mass found, beyond the tolerance;
- ``goods.missing``: goods the officer reports missing;
- ``record.cancelled_after_departure``: cancelled at or after the train's planned crossing,
  or after a lock carrying it was read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from ctop_node.errors import ConfigError
from ctop_node.model.messages import ControlResult

DEFAULT_MASS_TOLERANCE = Decimal("0.02")  # 2 % of the declared gross mass
MASS_TOLERANCE_SETTING = "discrepancy_mass_tolerance"  # node.json, a fraction: 0.02


@dataclass(frozen=True, slots=True)
class Found:
    code: str
    field: str
    expected: str = ""
    found: str = ""
    source: str = ""  # lock | control | channels | record
    container: str | None = None


class LockFacts(Protocol):
    """What a discrepancy needs of a stored lock read (``store.lockreads.LockRead``)."""

    @property
    def lock_id(self) -> str: ...
    @property
    def lock_state(self) -> str: ...
    @property
    def declared(self) -> bool: ...
    @property
    def tampered(self) -> bool: ...
    @property
    def findings(self) -> tuple[dict[str, str], ...]: ...
    @property
    def read_at(self) -> datetime: ...


def _dec(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _containers(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [c for c in body.get("containers") or () if isinstance(c, dict)]


def _path(body: Mapping[str, Any], number: str, leaf: str) -> str:
    for i, c in enumerate(_containers(body)):
        if str(c.get("number", "")).upper() == number.upper():
            return f"$.containers[{i}].{leaf}"
    return f"$.containers[?number={number}]"


def from_channels(verdict: str | None) -> list[Found]:
    if verdict == "MISMATCH":
        return [
            Found("lock.online_mismatch", "$", "online content", "other lock content", "channels")
        ]
    if verdict == "TAMPERED":
        return [Found("lock.tampered", "$", "untouched lock", "tampered", "channels")]
    if verdict == "LOCK_ONLY":
        return [
            Found("container.not_announced", "$", "online announcement", "lock only", "channels")
        ]
    return []


def from_locks(body: Mapping[str, Any], reads: Sequence[LockFacts]) -> list[Found]:
    declared = {
        str(c.get("smart_lock_id")): str(c.get("number", ""))
        for c in _containers(body)
        if c.get("smart_lock_id")
    }
    out: list[Found] = []
    for r in reads:
        container = declared.get(r.lock_id)
        where = _path(body, container, "smart_lock_id") if container else "$.containers"
        if r.tampered:
            out.append(Found("lock.tampered", where, "untouched", "tampered", "lock", container))
        opened = r.lock_state == "opened" or any(
            "opened" in str(f.get("code", "")) for f in r.findings
        )
        if opened:
            out.append(Found("lock.opened", where, "sealed", r.lock_state, "lock", container))
        if not r.declared or r.lock_id not in declared:
            expected = ", ".join(sorted(declared)) or "-"
            out.append(Found("lock.id_differs", where, expected, r.lock_id, "lock", container))
    return out


def from_control(
    body: Mapping[str, Any], result: ControlResult, tolerance: Decimal = DEFAULT_MASS_TOLERANCE
) -> list[Found]:
    out: list[Found] = []
    if result.seal_status in ("broken", "missing"):
        out.append(
            Found(
                f"seal.{result.seal_status}",
                "$.containers",
                "intact",
                result.seal_status,
                "control",
            )
        )
    for d in result.discrepancies:
        if d.code == "goods.missing":
            out.append(
                Found("goods.missing", d.field or "$.goods", "declared", d.description, "control")
            )
    by_number = {str(c.get("number", "")).upper(): c for c in _containers(body)}
    for seen in result.containers:
        number = seen.number.upper()
        declared = by_number.get(number)
        if declared is None:
            out.append(
                Found(
                    "container.not_announced",
                    "$.containers",
                    "-",
                    seen.number,
                    "control",
                    seen.number,
                )
            )
            continue
        mass = _dec(declared.get("gross_mass_kg"))
        if seen.gross_mass_kg is not None and mass is not None:
            if abs(seen.gross_mass_kg - mass) > mass * tolerance:
                out.append(
                    Found(
                        "mass.beyond_tolerance",
                        _path(body, number, "gross_mass_kg"),
                        f"{mass} kg ± {tolerance * 100:g} %",
                        f"{seen.gross_mass_kg} kg",
                        "control",
                        seen.number,
                    )
                )
        seals = sorted(str(s) for s in declared.get("seals") or ())
        if seen.seals and sorted(seen.seals) != seals:
            out.append(
                Found(
                    "seal.differs",
                    _path(body, number, "seals"),
                    ", ".join(seals) or "-",
                    ", ".join(sorted(seen.seals)),
                    "control",
                    seen.number,
                )
            )
        lock = declared.get("smart_lock_id")
        if seen.smart_lock_id and seen.smart_lock_id != lock:
            out.append(
                Found(
                    "lock.id_differs",
                    _path(body, number, "smart_lock_id"),
                    str(lock or "-"),
                    seen.smart_lock_id,
                    "control",
                    seen.number,
                )
            )
    return out


def from_cancellation(
    body: Mapping[str, Any], cancelled_at: datetime | None, reads: Sequence[LockFacts]
) -> list[Found]:
    if cancelled_at is None:
        return []
    planned = str((body.get("train") or {}).get("planned_crossing_at", ""))
    try:
        left = datetime.fromisoformat(planned)
    except ValueError:
        left = None
    read_first = min((r.read_at for r in reads), default=None)
    late = (left is not None and cancelled_at >= left) or (
        read_first is not None and cancelled_at >= read_first
    )
    if not late:
        return []
    return [
        Found(
            "record.cancelled_after_departure",
            "$.train.planned_crossing_at",
            planned or "-",
            cancelled_at.isoformat(),
            "record",
        )
    ]


def discrepancies(
    body: Mapping[str, Any],
    *,
    verdict: str | None = None,
    reads: Sequence[LockFacts] = (),
    results: Sequence[ControlResult] = (),
    cancelled_at: datetime | None = None,
    tolerance: Decimal = DEFAULT_MASS_TOLERANCE,
) -> list[Found]:
    """Every discrepancy of one record, without duplicates, in a stable order."""
    found = [*from_channels(verdict), *from_locks(body, reads)]
    if results:
        found.extend(from_control(body, results[-1], tolerance))  # the latest result counts
    found.extend(from_cancellation(body, cancelled_at, reads))
    seen: set[tuple[str, str, str]] = set()
    out = []
    for f in found:
        key = (f.code, f.field, f.found)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def tolerance_of(settings: Mapping[str, Any]) -> Decimal:
    """The mass tolerance from node.json (a fraction, default 0.02)."""
    value = _dec(settings.get(MASS_TOLERANCE_SETTING, DEFAULT_MASS_TOLERANCE))
    if value is None or not Decimal(0) <= value < Decimal(1):
        raise ConfigError(
            f"node.json: {MASS_TOLERANCE_SETTING} must be a fraction between 0 and 1, "
            f"not {settings.get(MASS_TOLERANCE_SETTING)!r}",
            code="config.mass_tolerance",
        )
    return value
