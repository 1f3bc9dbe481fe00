"""COSE_Sign1 (RFC 9052) with the key behind a :class:`Signer`, and strict CBOR decoding.

pycose builds and parses the structure (headers, Sig_structure); the signature itself is
made by the Signer and checked with ``cryptography`` against the trusted certificate, so
no private key ever has to be handed to pycose. Usable on its own (the smart-lock codec
signs its compact payloads the same way).

Decoding is strict because cbor2 is lenient: it ignores trailing bytes and accepts deep
nesting. We refuse input over a size limit, with bytes after the first item, or nested
deeper than a limit, before pycose sees it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import cbor2
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from pycose.algorithms import EdDSA
from pycose.exceptions import CoseException
from pycose.headers import KID, Algorithm
from pycose.messages.sign1message import Sign1Message

from ctop_node.crypto.errors import BadSignature, MalformedMessage
from ctop_node.crypto.interfaces import KID_LENGTH, PeerIdentity, Signer, TrustStore
from ctop_node.crypto.pki import utcnow

MAX_MESSAGE_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 16
COSE_SIGN1_TAG = 18
_ALGORITHMS = {"EdDSA": EdDSA}


def strict_loads(
    data: bytes, *, max_size: int = MAX_MESSAGE_BYTES, max_depth: int = MAX_DEPTH
) -> Any:
    """Decode exactly one CBOR item; ``MalformedMessage`` on anything else."""
    if not isinstance(data, bytes):
        raise MalformedMessage(f"expected bytes, got {type(data).__name__}")
    if len(data) > max_size:
        raise MalformedMessage(f"message of {len(data)} bytes exceeds the limit of {max_size}")
    if not data:
        raise MalformedMessage("empty message")
    stream = io.BytesIO(data)
    try:
        item = cbor2.CBORDecoder(stream, max_depth=max_depth).decode()
    except (
        cbor2.CBORDecodeError,
        ValueError,
        TypeError,
        OverflowError,
        RecursionError,
        MemoryError,
    ) as exc:
        raise MalformedMessage(f"not valid CBOR: {exc}") from exc
    if stream.tell() != len(data):
        raise MalformedMessage(f"{len(data) - stream.tell()} trailing bytes after the message")
    return item


@dataclass(frozen=True, slots=True)
class Sign1:
    """A decoded, not yet verified COSE_Sign1."""

    kid: bytes
    alg: str
    payload: bytes
    signature: bytes
    to_be_signed: bytes


@dataclass(frozen=True, slots=True)
class Verified:
    """A COSE_Sign1 whose signature and signer certificate checked out."""

    payload: bytes
    signature: bytes
    signer: PeerIdentity


def sign1(payload: bytes, signer: Signer) -> bytes:
    """A tagged COSE_Sign1 over ``payload``; ``kid`` and ``alg`` in the protected header."""
    alg = _ALGORITHMS.get(signer.alg)
    if alg is None:
        raise MalformedMessage(
            f"unsupported signature algorithm {signer.alg!r}", code="crypto.unsupported_alg"
        )
    msg = Sign1Message(phdr={Algorithm: alg, KID: signer.kid}, payload=payload)
    msg.signature = signer.sign(msg._create_sig_structure())
    return bytes(msg.encode(tag=True, sign=False))


def decode_sign1(data: bytes, *, max_size: int = MAX_MESSAGE_BYTES) -> Sign1:
    item = strict_loads(data, max_size=max_size)
    if not (
        isinstance(item, cbor2.CBORTag)
        and item.tag == COSE_SIGN1_TAG
        and isinstance(item.value, list)
        and len(item.value) == 4
    ):
        raise MalformedMessage("not a tagged COSE_Sign1 message")
    phdr, uhdr, payload, signature = item.value
    if not (
        isinstance(phdr, bytes)
        and isinstance(uhdr, dict)
        and isinstance(payload, bytes)
        and isinstance(signature, bytes)
    ):
        raise MalformedMessage("COSE_Sign1 fields have the wrong types")
    if uhdr:  # everything we rely on must be signed
        raise MalformedMessage("unprotected COSE headers are not accepted")
    try:
        msg = Sign1Message.from_cose_obj(list(item.value), False)
        alg = msg.phdr.get(Algorithm)
        kid = msg.phdr.get(KID)
        tbs = msg._create_sig_structure()
    except (
        CoseException,
        cbor2.CBORDecodeError,
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
    ) as exc:
        raise MalformedMessage(f"bad COSE headers: {exc}") from exc
    names = [name for name, cls in _ALGORITHMS.items() if cls is alg]
    if not names:
        raise MalformedMessage(f"unsupported COSE algorithm {alg!r}")
    if not isinstance(kid, bytes) or len(kid) != KID_LENGTH:
        raise MalformedMessage("the protected header has no 8-byte kid")
    return Sign1(
        kid=kid, alg=names[0], payload=payload, signature=signature, to_be_signed=bytes(tbs)
    )


def check_signature(
    alg: str, certificate: x509.Certificate, signature: bytes, to_be_signed: bytes
) -> None:
    public = certificate.public_key()
    if alg != "EdDSA" or not isinstance(public, ed25519.Ed25519PublicKey):
        raise BadSignature(f"algorithm {alg} does not match the certificate's key")
    try:
        public.verify(signature, to_be_signed)
    except InvalidSignature as exc:
        raise BadSignature("the signature does not verify") from exc


def verify1(
    data: bytes, trust: TrustStore, *, at: datetime | None = None, max_size: int = MAX_MESSAGE_BYTES
) -> Verified:
    """Decode strictly, find the kid, check the signature, then the certificate at ``at``
    (default: now). Raises a ``CryptoError`` subclass at the first failure."""
    msg = decode_sign1(data, max_size=max_size)
    certificate = trust.certificate_for(msg.kid)
    check_signature(msg.alg, certificate, msg.signature, msg.to_be_signed)
    identity = trust.verify_certificate(certificate, at or utcnow())
    return Verified(payload=msg.payload, signature=msg.signature, signer=identity)
