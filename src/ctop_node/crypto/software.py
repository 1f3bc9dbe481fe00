"""Keys held in PEM files in the node home: the software implementation of the key holders."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

from ctop_node.crypto._watch import FileWatch
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


def _x25519(key_path: Path, cert_path: Path) -> tuple[x25519.X25519PrivateKey, x509.Certificate]:
    key = load_private_key(key_path)
    if not isinstance(key, x25519.X25519PrivateKey):
        raise PkiError(f"{key_path} is not an X25519 key", code="crypto.pki.key_file")
    cert = load_certificate(cert_path)
    _matching(key.public_key().public_bytes_raw(), cert, "encryption", key_path)
    return key, cert


@dataclass(frozen=True)
class SoftwareDecryptor:
    """X25519 HPKE recipient whose key is a PEM file, plus the keys retired by ``pki
    rotate`` (``retired``: kid -> key), so that messages encrypted before the peer learnt
    the new key still open."""

    _key: x25519.X25519PrivateKey
    certificate: x509.Certificate
    kid: bytes
    retired: dict[bytes, x25519.X25519PrivateKey] = field(default_factory=dict, repr=False)

    @classmethod
    def from_files(cls, key_path: Path, cert_path: Path) -> SoftwareDecryptor:
        key, cert = _x25519(key_path, cert_path)
        return cls(key, cert, kid_of(cert))

    @classmethod
    def from_home(cls, home: Path) -> SoftwareDecryptor:
        paths = NodePaths(home)
        key, cert = _x25519(paths.enc_key, paths.enc_cert)
        retired = {}
        for key_path, cert_path in paths.retired("enc"):
            old_key, old_cert = _x25519(key_path, cert_path)
            retired[kid_of(old_cert)] = old_key
        return cls(key, cert, kid_of(cert), retired)

    def holds(self, kid: bytes) -> bool:
        return kid == self.kid or kid in self.retired

    def decrypt(self, ciphertext: bytes, info: bytes, kid: bytes | None = None) -> bytes:
        if kid is None:  # no key id (lock payloads): the current key, then the retired ones
            keys = [self._key, *self.retired.values()]
        elif kid == self.kid:
            keys = [self._key]
        elif kid in self.retired:
            keys = [self.retired[kid]]
        else:
            raise DecryptFailed("the payload is encrypted to a key we do not hold")
        for key in keys:
            try:
                return HPKE_SUITE.decrypt(ciphertext, key, info=info)
            except (InvalidTag, ValueError):
                continue
        raise DecryptFailed("the payload cannot be decrypted with our key")

    def __repr__(self) -> str:
        return f"SoftwareDecryptor(kid={self.kid.hex()}, retired={len(self.retired)})"


class HomeDecryptor:
    """The :class:`SoftwareDecryptor` of a node home, read again when its key files change
    (``pki rotate`` while ``serve`` runs: the peer may encrypt to the new key at once)."""

    def __init__(self, home: Path, *, interval: float = 1.0) -> None:
        self._home = home
        paths = NodePaths(home)
        self._watch = FileWatch(
            lambda: [
                paths.enc_key,
                paths.enc_cert,
                *(p for pair in paths.retired("enc") for p in pair),
            ],
            interval=interval,
        )
        self._lock = threading.Lock()
        self._current = SoftwareDecryptor.from_home(home)

    def _now(self, *, force: bool = False) -> SoftwareDecryptor:
        if self._watch.changed(force=force):
            with self._lock:
                self._current = SoftwareDecryptor.from_home(self._home)
        return self._current

    @property
    def kid(self) -> bytes:
        return self._now().kid

    @property
    def certificate(self) -> x509.Certificate:
        return self._now().certificate

    def holds(self, kid: bytes) -> bool:
        # an unknown kid may be a key rotated a moment ago: look at the files now
        return self._now().holds(kid) or self._now(force=True).holds(kid)

    def decrypt(self, ciphertext: bytes, info: bytes, kid: bytes | None = None) -> bytes:
        return self._now().decrypt(ciphertext, info, kid)

    def __repr__(self) -> str:
        return f"HomeDecryptor({self._current!r})"
