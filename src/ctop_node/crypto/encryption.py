"""Payload encryption to a Party's certified X25519 key: HPKE (RFC 9180) base mode.

``cryptography`` 50's public HPKE API takes ``info`` but no AAD. ``info`` enters the HPKE key
schedule, so a ciphertext opens only with the exact same ``info``: binding the envelope
header there gives the guarantee the header-as-AAD design asks for (change one header byte
and decryption fails). The ciphertext is ``enc (32 bytes) || AES-256-GCM ciphertext+tag``.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hpke

from ctop_node.crypto.errors import DecryptFailed
from ctop_node.crypto.interfaces import Decryptor, RecipientKey

# One suite for the whole exchange; its name travels in the signed header.
HPKE_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
HPKE_SUITE_NAME = "HPKE-Base-X25519-SHA256-AES256GCM"
INFO_LABEL = b"ctop-node/payload/1\x00"  # domain separation from any other use of the key


def encrypt_to(plaintext: bytes, recipient: RecipientKey, context: bytes = b"") -> bytes:
    """Encrypt ``plaintext`` so that only ``recipient`` can open it, bound to ``context``."""
    return HPKE_SUITE.encrypt(plaintext, recipient.public_key, info=INFO_LABEL + context)


def decrypt(
    ciphertext: bytes, decryptor: Decryptor, context: bytes = b"", kid: bytes | None = None
) -> bytes:
    """Inverse of :func:`encrypt_to` with the key ``kid`` (default: any key the decryptor
    holds); raises ``DecryptFailed``."""
    if len(ciphertext) < 32 + 16:
        raise DecryptFailed("the encrypted payload is too short to be HPKE output")
    return decryptor.decrypt(ciphertext, INFO_LABEL + context, kid)
