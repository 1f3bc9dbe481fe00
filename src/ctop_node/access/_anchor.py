"""Offline checks of a signature against a Party CA certificate the auditor holds: the
certificate is issued by that CA (and was valid at the time given), its key made the
COSE_Sign1 signature. Used by the verifiers only; nothing is trusted from the node's store.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from ctop_node.crypto.cose import check_signature, decode_sign1
from ctop_node.crypto.interfaces import kid_of
from ctop_node.crypto.pki import party_of
from ctop_node.errors import AuditError, CryptoError

Anchors = Mapping[str, x509.Certificate]  # Party -> its CA certificate


def load_pem_certificate(pem: str | bytes, what: str) -> x509.Certificate:
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise AuditError(f"{what}: not a PEM certificate", code="audit.certificate") from exc


def issued_by(cert: x509.Certificate, anchors: Anchors, what: str) -> str:
    """The Party of ``cert`` once it checks out as issued by that Party's anchored CA."""
    party = party_of(cert) or ""
    ca = anchors.get(party)
    if ca is None:
        raise AuditError(
            f"{what}: signed by Party {party or '?'}, whose CA certificate was not given",
            code="audit.no_anchor",
        )
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise AuditError(
            f"{what}: the certificate is not issued by the CA of Party {party}",
            code="audit.untrusted",
        ) from exc
    return party


def verify_signed(
    signed: bytes,
    cert: x509.Certificate,
    anchors: Anchors,
    what: str,
    *,
    at: datetime | None = None,
) -> tuple[str, bytes]:
    """(Party, payload) of a COSE_Sign1 made by ``cert``'s key, ``cert`` anchored."""
    party = issued_by(cert, anchors, what)
    if at is not None and not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
        raise AuditError(
            f"{what}: the signing certificate was not valid at {at.isoformat()}",
            code="audit.cert_expired",
        )
    try:
        msg = decode_sign1(signed)
        if msg.kid != kid_of(cert):
            raise AuditError(f"{what}: signed with another key", code="audit.signature")
        check_signature(msg.alg, cert, msg.signature, msg.to_be_signed)
    except CryptoError as exc:
        raise AuditError(
            f"{what}: the signature does not verify ({exc.code})", code="audit.signature"
        ) from exc
    return party, msg.payload
