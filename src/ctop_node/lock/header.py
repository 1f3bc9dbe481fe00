"""The clear header of a lock payload: what the device and the reader see without keys.

The payload written to a lock is canonical CBOR ``{"hdr": header, "body": bytes}``. The
device reads only the header (anti-replay: lock ID + payload ID + counter + expiry); the
codec repeats the header inside the signed and encrypted body and checks both are equal,
so a header changed in transit is caught at reading time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from ctop_node.lock import cbor
from ctop_node.lock.errors import CborError, PayloadError

MODES = ("full", "digest")


@dataclass(frozen=True, slots=True)
class PayloadHeader:
    tc: str  # technical-conditions version of the record
    record_id: str
    version: int
    digest: str  # ctop_node.model.canonical.digest of the full record version (hex)
    lock_id: str
    payload_id: str
    counter: int  # per departure node, increasing: the device refuses a lower one
    expires: int  # UTC epoch seconds
    mode: Literal["full", "digest"] = "full"
    recipient: str = ""  # arrival Party (ISO 3166-1 alpha-2)

    def to_map(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.expires, UTC)

    @classmethod
    def from_map(cls, value: Any) -> PayloadHeader:
        names = {
            "tc",
            "record_id",
            "version",
            "digest",
            "lock_id",
            "payload_id",
            "counter",
            "expires",
            "mode",
            "recipient",
        }
        if not isinstance(value, dict) or set(value) != names:
            raise PayloadError("payload header has the wrong fields", code="lock.payload.header")
        texts = ("tc", "record_id", "digest", "lock_id", "payload_id", "mode", "recipient")
        ints = ("version", "counter", "expires")
        if not all(isinstance(value[k], str) and len(value[k]) <= 128 for k in texts) or not all(
            isinstance(value[k], int) and not isinstance(value[k], bool) and 0 <= value[k] < 2**63
            for k in ints
        ):
            raise PayloadError(
                "payload header fields have the wrong types", code="lock.payload.header"
            )
        if value["mode"] not in MODES:
            raise PayloadError(
                f"unknown payload mode {value['mode']!r}", code="lock.payload.header"
            )
        return cls(**value)


def build_payload(header: PayloadHeader, body: bytes) -> bytes:
    return cbor.encode({"hdr": header.to_map(), "body": body})


def parse_payload(data: bytes) -> tuple[PayloadHeader, bytes]:
    """Split a payload into its clear header and its (encrypted) body."""
    try:
        value = cbor.decode(data, max_size=1024 * 1024, max_depth=4)
    except CborError as exc:
        raise PayloadError(f"payload is not valid CBOR: {exc.message}", code=exc.code) from exc
    if not isinstance(value, dict) or set(value) != {"hdr", "body"}:
        raise PayloadError("not a lock payload", code="lock.payload.malformed")
    if not isinstance(value["body"], bytes):
        raise PayloadError("payload body is not bytes", code="lock.payload.malformed")
    return PayloadHeader.from_map(value["hdr"]), value["body"]
