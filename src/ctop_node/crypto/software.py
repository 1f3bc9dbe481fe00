"""Keys held in PEM files in the node home: the software implementation of the key holders."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

from ctop_node.crypto.encryption import HPKE_SUITE
from ctop_node.crypto.errors import DecryptFailed, PkiError
from ctop_node.crypto.interfaces import kid_of
from ctop_node.crypto.node import NodePaths
from ctop_node.crypto.pki import load_certificate, load_private_key


def _matching(key_pub: bytes, cert: x509.Certificate, what: str, path: Path) -> None:
    cert_pub = cert.public_key()
    raw = getattr(cert_pub, "public_bytes_raw", None)
    if raw is None or raw() != key_pub:
        raise PkiError(
            f"{path}: the {what} key does not match its certificate", code="crypto.pki.key_mismatch"
        )


@dataclass(frozen=True)
class SoftwareSigner:
    """Ed25519 signer (COSE ``EdDSA``) whose key is a PEM file."""

    _key: ed25519.Ed25519PrivateKey
    certificate: x509.Certificate
    kid: bytes
    alg: str = "EdDSA"

    @classmethod
    def from_files(cls, key_path: Path, cert_path: Path) -> SoftwareSigner:
        key = load_private_key(key_path)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise PkiError(f"{key_path} is not an Ed25519 key", code="crypto.pki.key_file")
        cert = load_certificate(cert_path)
        _matching(key.public_key().public_bytes_raw(), cert, "signing", key_path)
        return cls(key, cert, kid_of(cert))

    @classmethod
    def from_home(cls, home: Path) -> SoftwareSigner:
        paths = NodePaths(home)
        return cls.from_files(paths.sign_key, paths.sign_cert)

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def __repr__(self) -> str:  # never show key material
        return f"SoftwareSigner(kid={self.kid.hex()})"


@dataclass(frozen=True)
class SoftwareDecryptor:
    """X25519 HPKE recipient whose key is a PEM file."""

    _key: x25519.X25519PrivateKey
    certificate: x509.Certificate
    kid: bytes

    @classmethod
    def from_files(cls, key_path: Path, cert_path: Path) -> SoftwareDecryptor:
        key = load_private_key(key_path)
        if not isinstance(key, x25519.X25519PrivateKey):
            raise PkiError(f"{key_path} is not an X25519 key", code="crypto.pki.key_file")
        cert = load_certificate(cert_path)
        _matching(key.public_key().public_bytes_raw(), cert, "encryption", key_path)
        return cls(key, cert, kid_of(cert))

    @classmethod
    def from_home(cls, home: Path) -> SoftwareDecryptor:
        paths = NodePaths(home)
        return cls.from_files(paths.enc_key, paths.enc_cert)

    def decrypt(self, ciphertext: bytes, info: bytes) -> bytes:
        try:
            return HPKE_SUITE.decrypt(ciphertext, self._key, info=info)
        except (InvalidTag, ValueError) as exc:
            raise DecryptFailed("the payload cannot be decrypted with our key") from exc

    def __repr__(self) -> str:
        return f"SoftwareDecryptor(kid={self.kid.hex()})"
