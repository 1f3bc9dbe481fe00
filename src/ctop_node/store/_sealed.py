"""Encryption at rest of the columns that hold record content (bodies, raw messages,
decrypted payloads, lock images), with a key held outside the database.

The key file (``CTOP_AT_REST_KEY_FILE``, mode 0600) is JSON ``{"current": kid, "keys": {kid:
base64 32-byte key}}``. A sealed value is ``b"CTE1" || kid (8 bytes) || nonce (12) ||
AES-256-GCM(key, nonce, value, aad = column label)``: the label stops a value being moved to
another column. Values without the prefix are plaintext written before a key was configured;
they stay readable and ``ctop-node at-rest rotate`` seals them. Searchable columns (ids,
versions, digests, states, times) are never sealed.

The key ring rides on the engine's dialect (each engine has its own), so the column type,
which sees only the dialect, can find it; two nodes in one process each keep their own.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from ctop_node.errors import StorageError

MAGIC = b"CTE1"
KID_BYTES = 8
NONCE_BYTES = 12
KEY_ENV = "CTOP_AT_REST_KEY_FILE"
_RING_ATTR = "ctop_at_rest_keyring"


@dataclass(frozen=True)
class Keyring:
    current: str  # hex kid
    keys: dict[str, bytes]

    @classmethod
    def generate(cls) -> Keyring:
        kid = secrets.token_hex(KID_BYTES)
        return cls(kid, {kid: AESGCM.generate_key(bit_length=256)})

    def rotated(self) -> Keyring:
        """A ring whose current key is new; the old keys stay to read what they sealed."""
        fresh = Keyring.generate()
        return Keyring(fresh.current, {**self.keys, **fresh.keys})

    def only_current(self) -> Keyring:
        return Keyring(self.current, {self.current: self.keys[self.current]})

    @classmethod
    def load(cls, path: Path) -> Keyring:
        try:
            mode = path.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise StorageError(
                    f"{path}: the at-rest key file must be readable by its owner only (0600)",
                    code="store.at_rest_key",
                )
            data: dict[str, Any] = json.loads(path.read_text("utf-8"))
            keys = {str(k): base64.b64decode(v) for k, v in data["keys"].items()}
            ring = cls(str(data["current"]), keys)
        except OSError as exc:
            raise StorageError(
                f"cannot read the at-rest key file {path}: {exc.strerror}",
                code="store.at_rest_key",
            ) from exc
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StorageError(
                f"{path} is not an at-rest key file", code="store.at_rest_key"
            ) from exc
        if ring.current not in keys or any(len(k) != 32 for k in keys.values()):
            raise StorageError(f"{path} is not an at-rest key file", code="store.at_rest_key")
        return ring

    def dumps(self) -> bytes:
        return json.dumps(
            {
                "current": self.current,
                "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()},
            }
        ).encode()

    def save(self, path: Path) -> None:
        """Write atomically with mode 0600 (a crash leaves the old file or the new one)."""
        tmp = path.with_name(path.name + ".tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(self.dumps())
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)

    def seal(self, label: str, value: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        kid = bytes.fromhex(self.current)
        return (
            MAGIC
            + kid
            + nonce
            + AESGCM(self.keys[self.current]).encrypt(nonce, value, label.encode())
        )

    def open(self, label: str, blob: bytes) -> bytes:
        head = len(MAGIC)
        kid = blob[head : head + KID_BYTES].hex()
        nonce = blob[head + KID_BYTES : head + KID_BYTES + NONCE_BYTES]
        key = self.keys.get(kid)
        if key is None:
            raise StorageError(
                f"{label} is sealed with at-rest key {kid}, which the key file does not hold",
                code="store.at_rest_key",
            )
        try:
            return AESGCM(key).decrypt(
                nonce, blob[head + KID_BYTES + NONCE_BYTES :], label.encode()
            )
        except InvalidTag as exc:
            raise StorageError(
                f"{label}: the sealed value was altered in the database",
                code="store.at_rest_tampered",
            ) from exc


def keyring_from_env() -> Keyring | None:
    path = os.environ.get(KEY_ENV)
    return Keyring.load(Path(path)) if path else None


# Database URL -> the key file of the node whose database it is (``use_key_file``, called
# when a node's configuration is loaded): two nodes in one process each keep their own key.
_KEY_FILES: dict[str, Path] = {}


def use_key_file(url: str, path: Path) -> None:
    """Engines made for ``url`` from now on seal with the key ring in ``path``."""
    _KEY_FILES[url] = path


def keyring_for(url: str) -> Keyring | None:
    """``CTOP_AT_REST_KEY_FILE`` when set, else the key file of the node at ``url``."""
    ring = keyring_from_env()
    if ring is not None:
        return ring
    path = _KEY_FILES.get(url)
    return Keyring.load(path) if path is not None else None


def attach(dialect: Dialect, ring: Keyring | None) -> None:
    setattr(dialect, _RING_ATTR, ring)


def ring_of(dialect: Dialect) -> Keyring | None:
    ring = getattr(dialect, _RING_ATTR, None)
    return ring if isinstance(ring, Keyring) else None


def is_sealed(value: bytes | None) -> bool:
    return value is not None and bytes(value[: len(MAGIC)]) == MAGIC


class Sealed(TypeDecorator[bytes]):
    """``LargeBinary`` sealed with the engine's at-rest key ring when it has one."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        ring = ring_of(dialect)
        if value is None or ring is None:
            return value
        return ring.seal(self.label, bytes(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        data = bytes(value)
        if not is_sealed(data):
            return data
        ring = ring_of(dialect)
        if ring is None:
            raise StorageError(
                f"{self.label} is encrypted at rest: set {KEY_ENV} to the node's key file",
                code="store.at_rest_key",
            )
        return ring.open(self.label, data)
