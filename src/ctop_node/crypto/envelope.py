"""The signed and encrypted message envelope of the exchange (see DESIGN.md, "Message").

Wire format (CBOR, one item)::

    COSE_Sign1( protected = {alg: EdDSA, kid: kid(signing cert)},
                payload   = {"h": header_bytes, "p": body} )
    header_bytes = canonical CBOR map: message_id, correlation_id, type, tc_version,
                   sender, recipient, created_at, record_id, version, payload_digest,
                   enc (HPKE suite name or "none"), rkid (kid of the recipient's enc cert)
    body         = HPKE(recipient enc key, info = label || header_bytes)(payload)

``payload_digest`` is SHA-256 (hex) of the plaintext payload. For records the payload is
``ctop_node.model.canonical.canonical_bytes(record)``, so the digest equals
``canonical.digest(record)`` on both nodes and on both channels.

:func:`open_` checks in this order and raises the first failure: strict decode -> kid known
-> signature -> certificate (now: chain, dates, CRL) -> header well formed -> certificate
valid at ``created_at`` -> sender is the certificate's Party -> recipient is us -> decrypt ->
digest. The raw bytes and the signature are kept on :class:`OpenedMessage` for
non-repudiation; a receipt names :func:`message_digest` of the raw bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import cbor2

from ctop_node.crypto.cose import MAX_MESSAGE_BYTES, decode_sign1, sign1, strict_loads, verify1
from ctop_node.crypto.encryption import HPKE_SUITE_NAME, decrypt, encrypt_to
from ctop_node.crypto.errors import (
    DecryptFailed,
    DigestMismatch,
    MalformedMessage,
    SenderMismatch,
    WrongRecipient,
)
from ctop_node.crypto.interfaces import (
    Decryptor,
    PeerIdentity,
    RecipientKey,
    Signer,
    TrustStore,
)
from ctop_node.crypto.pki import party_of
from ctop_node.model.messages import MessageType

PLAINTEXT = "none"
_PARTY = re.compile(r"^[A-Z]{2}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_REQUIRED = (
    "message_id",
    "type",
    "tc_version",
    "sender",
    "recipient",
    "created_at",
    "payload_digest",
)
_OPTIONAL = ("correlation_id", "record_id", "version")
_CRYPTO = ("enc", "rkid")


def message_digest(raw: bytes) -> str:
    """SHA-256 (hex) of a message as sent: what a RECEIPT acknowledges."""
    return hashlib.sha256(raw).hexdigest()


def _uuid(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise MalformedMessage(f"header.{name} must be a UUID string")
    try:
        canonical = str(uuid.UUID(value))
    except ValueError as exc:
        raise MalformedMessage(f"header.{name} is not a UUID") from exc
    if canonical != value:
        raise MalformedMessage(f"header.{name} is not a lower-case hyphenated UUID")
    return value


def _text(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise MalformedMessage(f"header.{name} must be text of 1..{limit} characters")
    return value


@dataclass(frozen=True, slots=True)
class EnvelopeHeader:
    message_id: str
    type: MessageType
    tc_version: str
    sender: str
    recipient: str
    created_at: datetime
    payload_digest: str = ""  # filled in by seal()
    correlation_id: str | None = None
    record_id: str | None = None
    version: int | None = None

    @classmethod
    def new(
        cls,
        type: MessageType,
        *,
        sender: str,
        recipient: str,
        tc_version: str,
        record_id: str | None = None,
        version: int | None = None,
        correlation_id: str | None = None,
    ) -> EnvelopeHeader:
        """A header with a fresh message id and the current time."""
        return cls(
            message_id=str(uuid.uuid4()),
            type=type,
            tc_version=tc_version,
            sender=sender,
            recipient=recipient,
            created_at=datetime.now(UTC),
            correlation_id=correlation_id,
            record_id=record_id,
            version=version,
        )

    def to_map(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": self.message_id,
            "type": self.type.value,
            "tc_version": self.tc_version,
            "sender": self.sender,
            "recipient": self.recipient,
            "created_at": self.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "payload_digest": self.payload_digest,
        }
        for name in _OPTIONAL:
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        return data

    @classmethod
    def from_map(cls, data: Mapping[str, Any]) -> EnvelopeHeader:
        """Validate a decoded header strictly; ``MalformedMessage`` names the bad field."""
        if not isinstance(data, Mapping):
            raise MalformedMessage("the header is not a map")
        keys = set(data)
        missing = [k for k in _REQUIRED if k not in keys]
        unknown = keys - set(_REQUIRED) - set(_OPTIONAL)
        if missing or unknown:
            raise MalformedMessage(f"header fields missing {missing} / unknown {sorted(unknown)}")
        try:
            type_ = MessageType(data["type"])
        except ValueError as exc:
            raise MalformedMessage(f"header.type {data['type']!r} is unknown") from exc
        for name in ("sender", "recipient"):
            if not isinstance(data[name], str) or not _PARTY.match(data[name]):
                raise MalformedMessage(f"header.{name} must be a two-letter Party code")
        created = data["created_at"]
        try:
            created_at = datetime.fromisoformat(created) if isinstance(created, str) else None
        except ValueError:
            created_at = None
        if created_at is None or created_at.utcoffset() is None:
            raise MalformedMessage("header.created_at must be an ISO 8601 time with offset")
        digest = data["payload_digest"]
        if not isinstance(digest, str) or not _DIGEST.match(digest):
            raise MalformedMessage("header.payload_digest must be 64 lower-case hex digits")
        version = data.get("version")
        if version is not None and (type(version) is not int or version < 1):
            raise MalformedMessage("header.version must be a positive integer")
        correlation = data.get("correlation_id")
        record_id = data.get("record_id")
        return cls(
            message_id=_uuid(data["message_id"], "message_id"),
            type=type_,
            tc_version=_text(data["tc_version"], "tc_version", 32),
            sender=data["sender"],
            recipient=data["recipient"],
            created_at=created_at.astimezone(UTC),
            payload_digest=digest,
            correlation_id=None if correlation is None else _uuid(correlation, "correlation_id"),
            record_id=None if record_id is None else _text(record_id, "record_id", 128),
            version=version,
        )


@dataclass(frozen=True, slots=True)
class OpenedMessage:
    header: EnvelopeHeader
    payload: bytes
    signer: PeerIdentity
    signature: bytes
    raw: bytes  # exactly as received: keep it, it is the proof of who said what
    encrypted: bool

    @property
    def message_digest(self) -> str:
        return message_digest(self.raw)


def _coerce(header: EnvelopeHeader | Mapping[str, Any], digest: str) -> EnvelopeHeader:
    if isinstance(header, Mapping):
        data = dict(header)
        data.setdefault("message_id", str(uuid.uuid4()))
        created = data.setdefault("created_at", datetime.now(UTC))
        if isinstance(created, datetime):
            data["created_at"] = created.isoformat()
        if isinstance(data.get("type"), MessageType):
            data["type"] = data["type"].value
        data.setdefault("payload_digest", digest)
        header = EnvelopeHeader.from_map({k: v for k, v in data.items() if v is not None})
    elif not header.payload_digest:
        header = dataclasses.replace(header, payload_digest=digest)
    else:
        EnvelopeHeader.from_map(header.to_map())  # same checks as the receiver will make
    if header.payload_digest != digest:
        raise DigestMismatch("header.payload_digest is not the SHA-256 of the payload")
    return header


def seal(
    header: EnvelopeHeader | Mapping[str, Any],
    payload: bytes,
    signer: Signer,
    recipient_key: RecipientKey | None,
    *,
    plaintext: bool = False,
) -> bytes:
    """Encrypt ``payload`` to ``recipient_key`` and sign header + ciphertext with ``signer``.

    ``plaintext=True`` (tests, digest checks) leaves the payload readable; it is still signed.
    """
    head = _coerce(header, hashlib.sha256(payload).hexdigest())
    if party_of(signer.certificate) != head.sender:
        raise SenderMismatch(
            f"header.sender {head.sender} is not the Party of our signing certificate"
        )
    if plaintext:
        header_bytes = _header_bytes(head, PLAINTEXT, b"")
        body = payload
    else:
        if recipient_key is None or recipient_key.party != head.recipient:
            raise WrongRecipient(f"no encryption key of {head.recipient} given")
        header_bytes = _header_bytes(head, HPKE_SUITE_NAME, recipient_key.kid)
        body = encrypt_to(payload, recipient_key, header_bytes)
    return sign1(cbor2.dumps({"h": header_bytes, "p": body}, canonical=True), signer)


def _header_bytes(head: EnvelopeHeader, enc: str, rkid: bytes) -> bytes:
    return bytes(cbor2.dumps({**head.to_map(), "enc": enc, "rkid": rkid}, canonical=True))


def _split(signed_payload: bytes) -> tuple[bytes, dict[str, Any], bytes]:
    inner = strict_loads(signed_payload)
    if not (
        isinstance(inner, dict)
        and set(inner) == {"h", "p"}
        and isinstance(inner["h"], bytes)
        and isinstance(inner["p"], bytes)
    ):
        raise MalformedMessage("the signed content is not {h: bytes, p: bytes}")
    fields = strict_loads(inner["h"])
    if not isinstance(fields, dict) or not set(_CRYPTO) <= set(fields):
        raise MalformedMessage("the header has no enc/rkid")
    return inner["h"], fields, inner["p"]


def open_(
    data: bytes,
    trust: TrustStore,
    decryptor: Decryptor | None,
    expected_recipient: str,
    *,
    allow_plaintext: bool = False,
    max_size: int = MAX_MESSAGE_BYTES,
) -> OpenedMessage:
    """Verify and decrypt a sealed message; raise the first ``CryptoError`` met."""
    verified = verify1(data, trust, max_size=max_size)
    header_bytes, fields, body = _split(verified.payload)
    enc, rkid = fields.pop("enc"), fields.pop("rkid")
    header = EnvelopeHeader.from_map(fields)
    signer = trust.verify_certificate(verified.signer.certificate, header.created_at)
    if header.sender != signer.party:
        raise SenderMismatch(
            f"header.sender {header.sender} but signed by a certificate of {signer.party}"
        )
    if header.recipient != expected_recipient:
        raise WrongRecipient(f"message for {header.recipient}, we are {expected_recipient}")
    if enc == PLAINTEXT:
        if not allow_plaintext:
            raise DecryptFailed("unencrypted messages are not accepted", code="crypto.plaintext")
        payload = body
    elif enc == HPKE_SUITE_NAME:
        if decryptor is None or rkid != decryptor.kid:
            raise DecryptFailed("the payload is encrypted to a key we do not hold")
        payload = decrypt(body, decryptor, header_bytes)
    else:
        raise DecryptFailed(f"unknown encryption {enc!r}")
    if hashlib.sha256(payload).hexdigest() != header.payload_digest:
        raise DigestMismatch("the payload does not match header.payload_digest")
    return OpenedMessage(
        header=header,
        payload=payload,
        signer=signer,
        signature=verified.signature,
        raw=data,
        encrypted=enc != PLAINTEXT,
    )


def peek_header(data: bytes) -> EnvelopeHeader:
    """The header of a sealed message WITHOUT checking signature or certificate: only for
    messages we sealed ourselves and kept (e.g. to see how old a stored message is)."""
    _header_bytes, fields, _body = _split(decode_sign1(data).payload)
    fields.pop("enc")
    fields.pop("rkid")
    return EnvelopeHeader.from_map(fields)
