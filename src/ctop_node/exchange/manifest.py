"""The signed manifest (Art.5): its format, its check, and the MANIFEST message that carries it.

A manifest lists, for a period, every record version a node sent to a peer (outbox entry or
smart-lock write) and every one it holds from a peer: message id, record id, version,
digest, channel and time; never record content. It is CBOR inside a COSE_Sign1 made by the
node's :class:`~ctop_node.crypto.interfaces.Signer`, so the peer checks it against the
Party CA it already trusts. It travels as a file (``ctop-node manifest --out``) or as the
payload of a MANIFEST message (:class:`~ctop_node.model.messages.ManifestMessage`), whose
receiver checks the inner signature here before the inbox stores it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import cbor2

from ctop_node.crypto.cose import sign1, verify1
from ctop_node.crypto.interfaces import Signer, TrustStore
from ctop_node.errors import CryptoError, ReportError
from ctop_node.model.messages import ManifestMessage, RejectionError

MANIFEST_TYPE = "CTOP_MANIFEST"
MANIFEST_VERSION = 1
# A million entries of ~150 bytes each, with room to spare (as a file; a MANIFEST message
# is bounded by the sealed message's 8 MiB).
MAX_MANIFEST_BYTES = 512 * 1024 * 1024
FIELDS = ("direction", "party", "record_id", "version", "digest", "channel", "message_id", "at")


@dataclass(frozen=True)
class Manifest:
    party: str  # the signer's Party, from its certificate
    start: str
    end: str
    entries: list[dict[str, Any]]


def sign_manifest(
    party: str,
    start: date,
    end: date,
    rows: Sequence[Sequence[Any]],
    signer: Signer,
    *,
    now: datetime,
) -> bytes:
    """The signed manifest of ``party`` for ``start`` .. ``end``; ``rows`` in ``FIELDS``
    order."""
    payload = {
        "type": MANIFEST_TYPE,
        "v": MANIFEST_VERSION,
        "party": party,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "generated_at": now.astimezone(UTC).isoformat(),
        "fields": list(FIELDS),
        "entries": [list(r) for r in rows],
    }
    # Deterministic CBOR, like every item a node produces (docs/protocol/ctop.cddl).
    return sign1(cbor2.dumps(payload, canonical=True), signer)


def read_manifest(data: bytes, trust: TrustStore, *, at: datetime | None = None) -> Manifest:
    """Check the signature against ``trust`` first, then the shape; refuse anything else."""
    try:
        verified = verify1(data, trust, at=at, max_size=MAX_MANIFEST_BYTES)
    except CryptoError as exc:
        raise ReportError(f"manifest refused: {exc}", code=exc.code) from exc
    try:
        payload = cbor2.loads(verified.payload)
    except (cbor2.CBORDecodeError, ValueError) as exc:
        raise ReportError(f"manifest payload is not CBOR: {exc}", code="report.manifest") from exc
    if not (
        isinstance(payload, dict)
        and payload.get("type") == MANIFEST_TYPE
        and payload.get("v") == MANIFEST_VERSION
        and payload.get("fields") == list(FIELDS)
        and isinstance(payload.get("entries"), list)
    ):
        raise ReportError("not a CTOP manifest of version 1", code="report.manifest")
    if payload.get("party") != verified.signer.party:
        raise ReportError(
            f"manifest names Party {payload.get('party')!r} but is signed by "
            f"{verified.signer.party}",
            code="report.manifest_party",
        )
    entries = []
    for i, row in enumerate(payload["entries"]):
        if not isinstance(row, list) or len(row) != len(FIELDS):
            raise ReportError(f"manifest entry {i} has the wrong shape", code="report.manifest")
        entries.append(dict(zip(FIELDS, row, strict=True)))
    return Manifest(verified.signer.party, str(payload["from"]), str(payload["to"]), entries)


def manifest_message(signed: bytes, manifest: Manifest) -> ManifestMessage:
    """The MANIFEST payload that carries ``signed`` (whose content is ``manifest``)."""
    return ManifestMessage(
        first_day=date.fromisoformat(manifest.start),
        last_day=date.fromisoformat(manifest.end),
        entries=len(manifest.entries),
        manifest=base64.b64encode(signed).decode("ascii"),
    )


def _error(message: str, field: str = "$.manifest") -> RejectionError:
    return RejectionError(code="exchange.manifest", field=field, message=message)


def check_manifest_message(
    msg: ManifestMessage, sender: str, trust: TrustStore, at: datetime
) -> tuple[bytes | None, RejectionError | None]:
    """The inner signed manifest of a MANIFEST message, or why it is rejected: it must be
    signed by the Party that sent the message and describe the days and entries the
    message names."""
    try:
        signed = base64.b64decode(msg.manifest, validate=True)
    except (binascii.Error, ValueError) as exc:
        return None, _error(f"the manifest is not base64: {exc}")
    try:
        inner = read_manifest(signed, trust, at=at)
    except ReportError as exc:
        return None, _error(f"[{exc.code}] {exc.message}")
    if inner.party != sender:
        return None, _error(f"the manifest is signed by {inner.party}, the message by {sender}")
    if (inner.start, inner.end) != (msg.first_day.isoformat(), msg.last_day.isoformat()):
        return None, _error(
            f"the manifest covers {inner.start} .. {inner.end}, the message names "
            f"{msg.first_day} .. {msg.last_day}",
            "$.first_day",
        )
    if len(inner.entries) != msg.entries:
        return None, _error(
            f"the manifest lists {len(inner.entries)} entries, the message names {msg.entries}",
            "$.entries",
        )
    return signed, None
