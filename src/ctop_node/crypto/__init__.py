"""Identity, PKI and the signed + encrypted message envelope.

Contracts in ``interfaces`` (Signer, Decryptor, TrustStore); software keys in ``software``;
Party CA and certificates in ``pki``; node home layout in ``node``; trust bundles and the
trust store in ``trust``; signed trust updates in ``trust_update``; certificate requests
for an offline CA in ``csr``; expiry of CRLs and certificates in ``expiry``; COSE_Sign1 in
``cose``; HPKE in ``encryption``; the envelope in ``envelope``; error codes in ``errors``.
"""

from ctop_node.crypto.cose import sign1, verify1
from ctop_node.crypto.encryption import decrypt, encrypt_to
from ctop_node.crypto.envelope import EnvelopeHeader, OpenedMessage, message_digest, open_, seal
from ctop_node.crypto.interfaces import (
    Decryptor,
    PeerIdentity,
    RecipientKey,
    Signer,
    TrustStore,
    kid_of,
)
from ctop_node.crypto.software import SoftwareDecryptor, SoftwareSigner
from ctop_node.crypto.trust import BundleTrustStore

__all__ = [
    "BundleTrustStore",
    "Decryptor",
    "EnvelopeHeader",
    "OpenedMessage",
    "PeerIdentity",
    "RecipientKey",
    "Signer",
    "SoftwareDecryptor",
    "SoftwareSigner",
    "TrustStore",
    "decrypt",
    "encrypt_to",
    "kid_of",
    "message_digest",
    "open_",
    "seal",
    "sign1",
    "verify1",
]
