"""The lock payload codec: a record version, signed by departure customs, encrypted to arrival.

    payload = canonical CBOR {"hdr": header, "body": HPKE(arrival Party, info = header)(
                  COSE_Sign1(departure node)(canonical CBOR {"hdr": header, "rec": zrec})) }
    zrec    = zlib(canonical CBOR of ctop_node.model.canonical.canonical_dict(record))

The header (:mod:`.header`) travels in clear for the device's anti-replay checks and is bound
twice: it is the HPKE ``info`` and it is repeated inside the signed content. Its ``digest`` is
``canonical.digest(record)``, the digest the online copy of the same version has, so the
arrival node can reconcile the two channels. In *digest mode* (records too large for the
lock) ``rec`` is replaced by ``sum``: a summary and the digest of the full record, which is
expected online. Signing and encryption are the crypto package's (``cose.sign1``/``verify1``,
``encryption.encrypt_to``/``decrypt``); this module holds no keys.
"""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from ctop_node.crypto import cose, encryption
from ctop_node.crypto.interfaces import Decryptor, PeerIdentity, RecipientKey, Signer, TrustStore
from ctop_node.errors import CryptoError
from ctop_node.lock import cbor
from ctop_node.lock.errors import CapacityError, CborError, PayloadError
from ctop_node.lock.header import PayloadHeader, build_payload, parse_payload
from ctop_node.model import canonical

DEFAULT_CAPACITY = 8192
MAX_RECORD_BYTES = 1024 * 1024  # decompressed: a zip bomb stops here
TC_VERSION = "1"


@dataclass(frozen=True, slots=True)
class OpenedPayload:
    header: PayloadHeader
    signer: PeerIdentity
    record: dict[str, Any] | None  # the full record (mode "full")
    summary: dict[str, Any] | None  # the reduced data set (mode "digest")


def summary_of(record: dict[str, Any], version: int) -> dict[str, Any]:
    """The reduced data set of digest mode: what an officer needs to match the container."""
    goods = record.get("goods", [])
    return {
        "record_id": record["record_id"],
        "version": version,
        "containers": [
            {k: c[k] for k in ("number", "seals", "smart_lock_id") if k in c}
            for c in record.get("containers", [])
        ],
        "items": len(goods),
        "gross_kg": str(sum((Decimal(g["gross_mass_kg"]) for g in goods), Decimal(0))),
        "net_kg": str(sum((Decimal(g["net_mass_kg"]) for g in goods), Decimal(0))),
    }


def encode_payload(
    record: BaseModel | dict[str, Any],
    *,
    version: int,
    signer: Signer,
    recipient: RecipientKey,
    lock_id: str,
    counter: int,
    expires: datetime,
    mode: Literal["full", "digest"] = "full",
    capacity: int = DEFAULT_CAPACITY,
    tc: str = TC_VERSION,
    payload_id: str | None = None,
) -> bytes:
    """The bytes to write to lock ``lock_id``; ``CapacityError`` if they do not fit."""
    data = canonical.canonical_dict(record) if isinstance(record, BaseModel) else record
    header = PayloadHeader(
        tc=tc,
        record_id=str(data["record_id"]),
        version=version,
        digest=canonical.digest(data),
        lock_id=lock_id,
        payload_id=payload_id or uuid.uuid4().hex,
        counter=counter,
        expires=int(expires.timestamp()),
        mode=mode,
        recipient=recipient.party,
    )
    payload = _seal(header, data, signer, recipient)
    if len(payload) <= capacity:
        return payload
    if mode == "full":
        reduced = _seal(
            PayloadHeader(**{**header.to_map(), "mode": "digest"}), data, signer, recipient
        )
        fits = len(reduced) <= capacity
        proposal = (
            f"write it in digest mode ({len(reduced)} bytes: summary and digest, "
            "full record online) or send it online only"
            if fits
            else f"send it online only (even digest mode needs {len(reduced)} bytes)"
        )
        raise CapacityError(
            f"record {header.record_id} v{version} needs {len(payload)} bytes on the lock, "
            f"lock {lock_id} holds {capacity}: {proposal}"
        )
    raise CapacityError(
        f"record {header.record_id} v{version} needs {len(payload)} bytes even in digest "
        f"mode, lock {lock_id} holds {capacity}: send it online only"
    )


def _seal(
    header: PayloadHeader, data: dict[str, Any], signer: Signer, recipient: RecipientKey
) -> bytes:
    hdr = header.to_map()
    if header.mode == "full":
        inner = {"hdr": hdr, "rec": zlib.compress(cbor.encode(data), 9)}
    else:
        inner = {"hdr": hdr, "sum": summary_of(data, header.version)}
    try:
        signed = cose.sign1(cbor.encode(inner), signer)
        body = encryption.encrypt_to(signed, recipient, cbor.encode(hdr))
    except CryptoError as exc:
        raise PayloadError(f"payload cannot be sealed: {exc}", code="lock.payload.seal") from exc
    return build_payload(header, body)


def open_payload(
    payload: bytes,
    trust: TrustStore,
    decryptor: Decryptor,
    *,
    party: str,
    lock_id: str | None = None,
    at: datetime | None = None,
) -> OpenedPayload:
    """Decrypt, verify and check a payload read from ``lock_id`` by Party ``party``."""
    header, body = parse_payload(payload)
    if header.recipient != party:
        raise PayloadError(
            f"payload is for {header.recipient}, we are {party}", code="lock.payload.recipient"
        )
    if lock_id is not None and header.lock_id != lock_id:
        raise PayloadError(
            f"payload was written for lock {header.lock_id} but read from lock {lock_id}",
            code="lock.payload.wrong_lock",
        )
    hdr_bytes = cbor.encode(header.to_map())
    try:
        signed = encryption.decrypt(body, decryptor, hdr_bytes)
    except CryptoError as exc:
        raise PayloadError(
            f"payload cannot be decrypted: {exc.message}", code="lock.payload.decrypt"
        ) from exc
    try:
        verified = cose.verify1(signed, trust, at=at, max_size=len(signed))
    except CryptoError as exc:
        raise PayloadError(
            f"customs signature refused ({exc.code}): {exc.message}",
            code="lock.payload.signature",
        ) from exc
    try:
        inner = cbor.decode(verified.payload, max_size=MAX_RECORD_BYTES, max_depth=6)
    except CborError as exc:
        raise PayloadError(f"signed content: {exc.message}", code=exc.code) from exc
    if not isinstance(inner, dict) or inner.get("hdr") != header.to_map() or len(inner) != 2:
        raise PayloadError(
            "the clear header differs from the signed one", code="lock.payload.header"
        )
    if header.mode == "digest":
        summary = inner.get("sum")
        if not isinstance(summary, dict):
            raise PayloadError("digest-mode payload has no summary", code="lock.payload.malformed")
        return OpenedPayload(header, verified.signer, None, summary)
    record = _record(inner.get("rec"))
    if canonical.digest(record) != header.digest:
        raise PayloadError(
            f"record {header.record_id} does not match its digest", code="lock.payload.digest"
        )
    return OpenedPayload(header, verified.signer, record, None)


def _record(zrec: Any) -> dict[str, Any]:
    if not isinstance(zrec, bytes):
        raise PayloadError("full payload has no record", code="lock.payload.malformed")
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(zrec, MAX_RECORD_BYTES)
    except zlib.error as exc:
        raise PayloadError(
            f"record cannot be inflated: {exc}", code="lock.payload.malformed"
        ) from exc
    if inflater.unconsumed_tail or inflater.unused_data or not inflater.eof:
        raise PayloadError("record is truncated or too large", code="lock.payload.malformed")
    try:
        record = cbor.decode(raw, max_size=MAX_RECORD_BYTES, allowed_tags=frozenset())
    except CborError as exc:
        raise PayloadError(f"record: {exc.message}", code=exc.code) from exc
    if not isinstance(record, dict):
        raise PayloadError("record is not a map", code="lock.payload.malformed")
    return record
