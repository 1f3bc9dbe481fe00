"""Contracts of the crypto domain: who holds private keys and who decides whom to trust.

Code outside ``ctop_node.crypto`` reaches private keys only through a :class:`Signer` or a
:class:`Decryptor`, so the keys can later move to an HSM or a separate signer process
(X-Road keeps its signer apart from its proxy in the same way).

Party identity rule: every certificate of a Party (its CA and the node certificates the CA
issues) carries the SAN URI ``urn:ctop:party:<CODE>`` (``<CODE>`` = ISO 3166-1 alpha-2 of the
Party). That URI, not the subject, is authoritative; the subject repeats it as ``C=<CODE>``
for humans. A leaf is trusted for Party X only if it is directly issued by the CA registered
for X in the trust store and both name X.

Key ids: ``kid`` = the first 8 bytes of SHA-256 over the certificate's DER (as in the EU
Digital COVID Certificate), for signing and for encryption certificates alike.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding

PARTY_URI_PREFIX = "urn:ctop:party:"
KID_LENGTH = 8


def kid_of(certificate: x509.Certificate) -> bytes:
    """The key id of a certificate: first 8 bytes of SHA-256 of its DER."""
    return hashlib.sha256(certificate.public_bytes(Encoding.DER)).digest()[:KID_LENGTH]


@dataclass(frozen=True, slots=True)
class PeerIdentity:
    """Who signed: the result of a successful certificate check."""

    party: str
    kid: bytes
    certificate: x509.Certificate

    @property
    def serial(self) -> int:
        return self.certificate.serial_number

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()


@dataclass(frozen=True, slots=True)
class RecipientKey:
    """The public encryption key of a Party, as certified by that Party's CA."""

    party: str
    kid: bytes
    public_key: X25519PublicKey


@runtime_checkable
class Signer(Protocol):
    """Holder of a message-signing private key."""

    @property
    def kid(self) -> bytes: ...

    @property
    def alg(self) -> str:
        """COSE algorithm name, e.g. ``"EdDSA"``."""
        ...

    @property
    def certificate(self) -> x509.Certificate: ...

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` as is (COSE signs its Sig_structure; the signer does not hash it)."""
        ...


@runtime_checkable
class Decryptor(Protocol):
    """Holder of the node's private encryption key (X25519, HPKE base mode)."""

    @property
    def kid(self) -> bytes: ...

    @property
    def certificate(self) -> x509.Certificate: ...

    def holds(self, kid: bytes) -> bool:
        """True for the current key's kid and for keys retired by a rotation but kept."""
        ...

    def decrypt(self, ciphertext: bytes, info: bytes, kid: bytes | None = None) -> bytes:
        """Open an HPKE ciphertext (``enc || ct``) with the key ``kid`` (``None``: any key
        held); raise ``DecryptFailed`` if it does not open."""
        ...


@runtime_checkable
class TrustStore(Protocol):
    """Which Parties' CAs we trust, their CRLs and the certificates they issued."""

    def certificate_for(self, kid: bytes) -> x509.Certificate:
        """The signing certificate with this kid; ``UnknownKey`` if none."""
        ...

    def verify_certificate(self, certificate: x509.Certificate, at: datetime) -> PeerIdentity:
        """Check issuance by the Party CA, validity at ``at`` (and of the CA) and the CRL.

        Raises ``UntrustedChain``, ``CertExpired`` or ``CertRevoked``.
        """
        ...

    def recipient_key(self, party: str) -> RecipientKey:
        """The certified encryption key of ``party``; ``UnknownKey`` if none."""
        ...
