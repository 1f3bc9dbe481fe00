"""Sealed messages as the kit's Party sends them, and the ways scenarios spoil them.

Messages are built with ctop-node's own envelope (:func:`ctop_node.crypto.envelope.seal`:
COSE_Sign1 over ``{h, p}``, HPKE to the peer's encryption certificate with the header bytes
in ``info``); the spoilers then change bytes the way an attacker or a broken sender would,
re-signing only where the scenario says the sender did.
"""

from __future__ import annotations

import base64
import dataclasses
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2

from ctop_node.conformance.kit import KitHome
from ctop_node.crypto.cose import COSE_SIGN1_TAG, sign1
from ctop_node.crypto.envelope import EnvelopeHeader, message_digest, seal
from ctop_node.exchange.manifest import sign_manifest
from ctop_node.model.canonical import canonical_bytes, digest
from ctop_node.model.messages import Cancellation, ManifestMessage, MessageType


@dataclass(frozen=True, slots=True)
class Sent:
    """One message as put on the wire: its id and exact bytes."""

    message_id: str
    raw: bytes

    @property
    def digest(self) -> str:
        return message_digest(self.raw)


@dataclass
class Sealer:
    """Seals messages from the kit's Party to ``peer``."""

    kit: KitHome
    party: str
    peer: str
    tc_version: str = "1"

    def seal(
        self,
        mtype: MessageType,
        payload: bytes,
        *,
        record_id: str | None = None,
        version: int | None = None,
        message_id: str | None = None,
        tc_version: str | None = None,
        skew: timedelta = timedelta(0),
        signer: str = "node",
        plaintext: bool = False,
        wrong_key: bool = False,
    ) -> Sent:
        head = EnvelopeHeader.new(
            mtype,
            sender=self.party,
            recipient=self.peer,
            tc_version=tc_version or self.tc_version,
            record_id=record_id,
            version=version,
        )
        head = dataclasses.replace(head, created_at=datetime.now(UTC) + skew)
        if message_id is not None:
            head = dataclasses.replace(head, message_id=message_id)
        key = None if plaintext else self.kit.recipient_key(self.peer)
        if key is not None and wrong_key:
            # Our own encryption key under the peer's name: the peer holds no key to open it.
            own = self.kit.recipient_key(self.party)
            key = dataclasses.replace(own, party=self.peer)
        raw = seal(head, payload, self.kit.signer(signer), key, plaintext=plaintext)
        return Sent(head.message_id, raw)

    def record(self, data: dict[str, Any], version: int, body: bytes, **options: Any) -> Sent:
        mtype = MessageType.CONSIGNMENT if version == 1 else MessageType.AMENDMENT
        return self.seal(mtype, body, record_id=data["record_id"], version=version, **options)

    def cancellation(
        self, record_id: str, version: int, *, payload_version: int | None = None, **options: Any
    ) -> Sent:
        """CANCELLATION of ``version``: the header and the payload both name it (unless
        ``payload_version`` makes the payload name another one)."""
        payload = canonical_bytes(
            Cancellation(
                record_id=record_id,
                version=payload_version or version,
                reason="conformance kit",
            )
        )
        return self.seal(
            MessageType.CANCELLATION, payload, record_id=record_id, version=version, **options
        )

    def manifest(self, record_ids: list[str], body: bytes, *, flip: bool = False) -> Sent:
        """MANIFEST of today listing ``record_ids`` as sent (version 1 of each, the digest of
        ``body``), signed by the kit's node key; ``flip`` flips one byte of the signed
        manifest inside a message that is itself sealed and signed correctly."""
        day = datetime.now(UTC).date()
        at = datetime.now(UTC).isoformat()
        rows = [["out", self.peer, r, 1, digest(body), "online", None, at] for r in record_ids]
        signed = sign_manifest(
            self.party, day, day, rows, self.kit.signer("node"), now=datetime.now(UTC)
        )
        notice = ManifestMessage(
            first_day=day,
            last_day=day,
            entries=len(rows),
            manifest=base64.b64encode(_flipped(signed) if flip else signed).decode("ascii"),
        )
        return self.seal(MessageType.MANIFEST, canonical_bytes(notice))

    def resigned(self, sent: Sent, changes: dict[str, Any], signer: str = "node") -> Sent:
        """``sent`` with header fields changed and signed again by the kit: what a sender
        would make that edits the header after encrypting."""
        inner, fields = _inner(sent.raw)
        fields.update(changes)
        inner["h"] = cbor2.dumps(fields, canonical=True)
        raw = sign1(cbor2.dumps(inner, canonical=True), self.kit.signer(signer))
        return Sent(str(fields.get("message_id", sent.message_id)), raw)


def _flipped(raw: bytes) -> bytes:
    damaged = bytearray(raw)
    damaged[len(damaged) // 2] ^= 0x01
    return bytes(damaged)


def _sign1_parts(raw: bytes) -> list[Any]:
    item = cbor2.loads(raw)
    assert isinstance(item, cbor2.CBORTag) and item.tag == COSE_SIGN1_TAG
    return list(item.value)


def _inner(raw: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    inner: dict[str, Any] = cbor2.loads(_sign1_parts(raw)[2])
    fields: dict[str, Any] = cbor2.loads(inner["h"])
    return inner, fields


def _with_content(raw: bytes, inner: dict[str, Any]) -> bytes:
    """The COSE_Sign1 with another signed content and the old signature (not re-signed)."""
    parts = _sign1_parts(raw)
    parts[2] = cbor2.dumps(inner, canonical=True)
    return bytes(cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, parts)))


def tamper_payload(sent: Sent) -> Sent:
    """One bit of the encrypted payload flipped in transit; the signature left as it was."""
    inner, _ = _inner(sent.raw)
    body = bytearray(inner["p"])
    body[len(body) // 2] ^= 0x01
    inner["p"] = bytes(body)
    return Sent(sent.message_id, _with_content(sent.raw, inner))


def tamper_header(sent: Sent, changes: dict[str, Any]) -> Sent:
    """Header fields changed in transit; the signature left as it was."""
    inner, fields = _inner(sent.raw)
    fields.update(changes)
    inner["h"] = cbor2.dumps(fields, canonical=True)
    return Sent(sent.message_id, _with_content(sent.raw, inner))


def forge_signature(sent: Sent) -> Sent:
    """The content intact, the signature replaced by random bytes of the right length."""
    parts = _sign1_parts(sent.raw)
    parts[3] = os.urandom(len(parts[3]))
    return Sent(sent.message_id, bytes(cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, parts))))


def truncate(sent: Sent, cut: int = 7) -> Sent:
    return Sent(sent.message_id, sent.raw[:-cut])
