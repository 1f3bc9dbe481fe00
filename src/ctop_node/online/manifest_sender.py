"""Sending our signed manifest (Art.5) to a peer as a MANIFEST message.

One message, sealed like every other (COSE_Sign1 over the header and the HPKE-encrypted
payload, to the peer's encryption certificate), sent through the node's transport (mutual
TLS), and judged from the peer's signed answer: a RECEIPT that names our message and its
digest means the peer checked the inner manifest and stored it. An operator sends it on
demand (``ctop-node manifest --send``), so failures are reported, not queued: sending again
makes a new message, and the peer uses the one it received last for the same days.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from ctop_node.crypto.envelope import EnvelopeHeader, seal
from ctop_node.crypto.interfaces import Decryptor, Signer, TrustStore
from ctop_node.errors import CryptoError, TransportError
from ctop_node.exchange.manifest import manifest_message, read_manifest
from ctop_node.model.canonical import canonical_bytes
from ctop_node.model.messages import MessageType, Receipt
from ctop_node.online.answers import read_answer
from ctop_node.online.interfaces import Transport


@dataclass(frozen=True, slots=True)
class ManifestSent:
    """What the peer said: ``delivered`` (its RECEIPT verified) or ``rejected`` (its signed
    REJECTION, ``code`` and ``message`` from its first error)."""

    peer: str
    message_id: str
    status: str
    entries: int
    code: str = ""
    message: str = ""


def send_manifest(
    signed: bytes,
    *,
    party: str,
    peer: str,
    transport: Transport,
    signer: Signer,
    decryptor: Decryptor,
    trust: TrustStore,
    tc_version: str = "1",
) -> ManifestSent:
    """Send the signed manifest ``signed`` (ours, checked here against our own trust first)
    to ``peer``. Raises ``TransportError`` when the peer could not be reached or refused the
    message, ``CryptoError`` when its answer does not verify."""
    manifest = read_manifest(signed, trust)
    header = EnvelopeHeader.new(
        MessageType.MANIFEST, sender=party, recipient=peer, tc_version=tc_version
    )
    payload = canonical_bytes(manifest_message(signed, manifest))
    raw = seal(header, payload, signer, trust.recipient_key(peer))
    (answer,) = transport.send(peer, [raw])
    if answer.status == "refused" or answer.answer is None:
        code = answer.code or "transport.refused"
        raise TransportError(f"{peer} refused the manifest: {answer.message}", code=code)
    try:
        read = read_answer(
            answer.answer,
            party=party,
            peer=peer,
            message_id=header.message_id,
            sent=raw,
            trust=trust,
            decryptor=decryptor,
        )
    except ValidationError as exc:
        raise CryptoError(f"the answer of {peer} is not a RECEIPT or REJECTION: {exc}") from exc
    entries = len(manifest.entries)
    if isinstance(read, Receipt):
        return ManifestSent(peer, header.message_id, "delivered", entries)
    first = read.errors[0]
    return ManifestSent(
        peer,
        header.message_id,
        "rejected",
        entries,
        first.code,
        f"{first.field}: {first.message}",
    )
