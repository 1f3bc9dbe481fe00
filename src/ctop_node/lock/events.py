"""Lock events and the append-only, hash-chained, device-signed event log (writer side).

Codes 1-7 are the EAEU navigation-seal event codes; codes from 16 up are ours, with the
ISO 18185 seal status they mean (sealed/opened). An event is (counter, UTC time, code, data);
the log entry stores the event's canonical CBOR, the chained hash and the device signature.
The reader side is :mod:`ctop_node.lock.verify_log`, which shares only :mod:`._chain`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from ctop_node.lock import _chain, cbor
from ctop_node.lock.errors import LogError


class EventCode(IntEnum):
    # EAEU navigation seals (codes as published)
    SEAL_BROKEN = 1  # 01 sealing element broken
    HOUSING_BROKEN = 2  # 02 housing broken
    ROUTE_DEVIATION = 3  # 03 route deviation
    MALFUNCTION = 4  # 04 malfunction
    BATTERY_LOW = 5  # 05 battery below 15 %
    NO_MESSAGES = 6  # 06 no messages for two periods
    UNAUTHORISED_ACTION = 7  # 07 unauthorised action
    # ctop-node
    SEALED = 16  # ISO 18185 "sealed"
    OPENED = 17  # ISO 18185 "opened": authorised unseal, with the reader ID
    READ_BY_AUTHORITY = 18  # a customs reader pulled the lock image (reader ID, its nonce)
    POSITION = 19  # GNSS fix, micro-degrees
    PAYLOAD_WRITTEN = 20  # departure customs wrote a payload (payload ID)
    ERASED = 21  # payload erased after the trip
    PROVISIONED = 22  # carrier provisioned the device


# Events that mean the container may have been entered without authority.
TAMPER_CODES = frozenset(
    {EventCode.SEAL_BROKEN, EventCode.HOUSING_BROKEN, EventCode.UNAUTHORISED_ACTION}
)


def eaeu_code(code: int) -> str | None:
    """The two-digit EAEU navigation-seal code, or None for our own events."""
    return f"{code:02d}" if 1 <= code <= 7 else None


def iso18185_status(code: int) -> str | None:
    """The ISO 18185 seal status an event leads to, or None if it does not change it."""
    if code == EventCode.SEALED:
        return "sealed"
    if code == EventCode.OPENED or code in TAMPER_CODES:
        return "opened"
    return None


def position_data(lat: float | str, lon: float | str) -> dict[str, int]:
    """GNSS position as integer micro-degrees (the lock holds no floats)."""
    lat_u, lon_u = round(float(lat) * 1_000_000), round(float(lon) * 1_000_000)
    if not (-90_000_000 <= lat_u <= 90_000_000 and -180_000_000 <= lon_u <= 180_000_000):
        raise LogError(f"position {lat}, {lon} is not on Earth", code="lock.event.data")
    return {"lat_e6": lat_u, "lon_e6": lon_u}


_REQUIRED: dict[EventCode, tuple[str, ...]] = {
    EventCode.OPENED: ("reader_id",),
    EventCode.READ_BY_AUTHORITY: ("reader_id", "nonce"),
    EventCode.POSITION: ("lat_e6", "lon_e6"),
    EventCode.PAYLOAD_WRITTEN: ("payload_id",),
}


@dataclass(frozen=True, slots=True)
class Event:
    counter: int
    time: datetime
    code: EventCode
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_cbor(self) -> bytes:
        return cbor.encode(
            {
                "n": self.counter,
                "t": int(self.time.timestamp()),
                "c": int(self.code),
                "d": dict(self.data),
            }
        )


@dataclass(frozen=True, slots=True)
class LogEntry:
    event_bytes: bytes
    entry_hash: bytes
    signature: bytes

    def as_map(self) -> dict[str, bytes]:
        return {"e": self.event_bytes, "h": self.entry_hash, "s": self.signature}


class EventLog:
    """Append-only writer: each entry chained to the previous one and signed by the device."""

    def __init__(self, lock_id: str, entries: Sequence[LogEntry] = ()) -> None:
        self.lock_id = lock_id
        self._entries = list(entries)

    @property
    def entries(self) -> tuple[LogEntry, ...]:
        return tuple(self._entries)

    @property
    def head(self) -> bytes:
        return self._entries[-1].entry_hash if self._entries else _chain.genesis(self.lock_id)

    @property
    def next_counter(self) -> int:
        return len(self._entries) + 1

    def append(
        self,
        code: EventCode,
        data: Mapping[str, Any],
        *,
        time: datetime,
        sign: Callable[[bytes], bytes],
    ) -> Event:
        missing = [k for k in _REQUIRED.get(code, ()) if k not in data]
        if missing:
            raise LogError(f"event {code.name} needs {', '.join(missing)}", code="lock.event.data")
        if time.tzinfo is None:
            raise LogError("event time must carry its UTC offset", code="lock.event.data")
        time = time.astimezone(UTC).replace(microsecond=0)
        if self._entries:
            last_t = cbor.decode(self._entries[-1].event_bytes)["t"]
            if int(time.timestamp()) < last_t:
                # A device clock that goes back would make its own log look reordered.
                time = datetime.fromtimestamp(last_t, UTC)
        event = Event(self.next_counter, time, code, dict(data))
        event_bytes = event.to_cbor()
        entry_hash = _chain.link(self.head, event_bytes)
        self._entries.append(LogEntry(event_bytes, entry_hash, sign(entry_hash)))
        return event
