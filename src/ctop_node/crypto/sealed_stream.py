"""A stream encrypted under a passphrase: what ``ctop-node backup`` writes.

The passphrase becomes a 256-bit key through scrypt (``cryptography``'s, parameters and salt
in the header); the data is cut into chunks of 1 MiB, each sealed with AES-256-GCM (the STREAM
construction of Hoang, Reyhanitabar, Rogaway and Vizár): the nonce is a random 7-byte prefix,
the chunk's 4-byte counter and a last-chunk flag, and every chunk authenticates the header. So
a backup of any size is written and read in constant memory, and a chunk altered, dropped,
reordered, or cut off at the end fails authentication (``crypto.backup.altered``). No
primitive is written here: scrypt and AES-GCM are the library's.

    magic "CTOP-SEALED/1\\n" | header length (u32) | header (JSON) | (u32 length | chunk)*
"""

from __future__ import annotations

import base64
import json
import os
import struct
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ctop_node.errors import CryptoError

MAGIC = b"CTOP-SEALED/1\n"
CHUNK = 1 << 20
# scrypt at N=2^17, r=8 (128 MiB, about half a second): the OWASP recommendation.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 17, 8, 1
MIN_PASSPHRASE = 12
_MAX_HEADER = 4096
_LEN = struct.Struct(">I")


def _key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def check_passphrase(passphrase: str) -> str:
    if len(passphrase) < MIN_PASSPHRASE:
        raise CryptoError(
            f"the backup passphrase must have at least {MIN_PASSPHRASE} characters",
            code="crypto.backup.passphrase",
        )
    return passphrase


class SealingWriter:
    """A write-only file object: what is written goes out sealed to ``out``; ``close()``
    seals the last chunk (without it the stream is incomplete and is refused on reading)."""

    def __init__(self, out: IO[bytes], passphrase: str) -> None:
        salt, self._prefix = os.urandom(16), os.urandom(7)
        header = {
            "kdf": "scrypt",
            "n": SCRYPT_N,
            "r": SCRYPT_R,
            "p": SCRYPT_P,
            "salt": base64.b64encode(salt).decode(),
            "aead": "AES-256-GCM",
            "nonce_prefix": base64.b64encode(self._prefix).decode(),
            "chunk": CHUNK,
        }
        raw = json.dumps(header, sort_keys=True).encode()
        self._aad = MAGIC + _LEN.pack(len(raw)) + raw
        self._aead = AESGCM(_key(check_passphrase(passphrase), salt, SCRYPT_N, SCRYPT_R, SCRYPT_P))
        self._out = out
        self._buf = bytearray()
        self._counter = 0
        self._closed = False
        out.write(self._aad)

    def write(self, data: bytes) -> int:
        self._buf += data
        # Keep at least one byte back: only close() knows which chunk is the last.
        while len(self._buf) > CHUNK:
            self._emit(bytes(self._buf[:CHUNK]), last=False)
            del self._buf[:CHUNK]
        return len(data)

    def _emit(self, plain: bytes, *, last: bool) -> None:
        if self._counter >= 0xFFFFFFFF:
            raise CryptoError("the backup is too large (4 PiB)", code="crypto.backup.too_large")
        sealed = self._aead.encrypt(_nonce(self._prefix, self._counter, last), plain, self._aad)
        self._out.write(_LEN.pack(len(sealed)) + sealed)
        self._counter += 1

    def close(self) -> None:
        if not self._closed:
            self._emit(bytes(self._buf), last=True)
            self._buf.clear()
            self._closed = True

    def flush(self) -> None:
        self._out.flush()


class OpeningReader:
    """A read-only file object over a sealed stream; each chunk is released only once it
    authenticated, and the end only once the last chunk (flagged so) did."""

    def __init__(self, src: IO[bytes], passphrase: str) -> None:
        self._src = src
        if src.read(len(MAGIC)) != MAGIC:
            raise CryptoError("not a ctop-node backup file", code="crypto.backup.format")
        size = _LEN.unpack(self._exact(_LEN.size))[0]
        if size > _MAX_HEADER:
            raise CryptoError("backup header too large", code="crypto.backup.format")
        raw = self._exact(size)
        try:
            header: dict[str, Any] = json.loads(raw)
            salt = base64.b64decode(header["salt"], validate=True)
            self._prefix = base64.b64decode(header["nonce_prefix"], validate=True)
            n, r, p = int(header["n"]), int(header["r"]), int(header["p"])
            ok = header["kdf"] == "scrypt" and header["aead"] == "AES-256-GCM"
        except (ValueError, KeyError, TypeError) as exc:
            raise CryptoError("backup header unreadable", code="crypto.backup.format") from exc
        # Bounds keep a forged header from asking for gigabytes of scrypt memory.
        if not ok or len(self._prefix) != 7 or not (1 << 14 <= n <= 1 << 20) or r > 16 or p > 4:
            raise CryptoError("backup header: unsupported parameters", code="crypto.backup.format")
        self._aad = MAGIC + _LEN.pack(size) + raw
        self._aead = AESGCM(_key(passphrase, salt, n, r, p))
        self._counter = 0
        self._buf = bytearray()
        self._next = self._record()
        self._done = False

    def _exact(self, n: int) -> bytes:
        data = self._src.read(n)
        if len(data) != n:
            raise CryptoError("the backup is cut short", code="crypto.backup.altered")
        return data

    def _record(self) -> bytes | None:
        head = self._src.read(_LEN.size)
        if not head:
            return None
        if len(head) != _LEN.size:
            raise CryptoError("the backup is cut short", code="crypto.backup.altered")
        size = _LEN.unpack(head)[0]
        if size > CHUNK + 16:
            raise CryptoError("backup chunk too large", code="crypto.backup.altered")
        return self._exact(size)

    def _fill(self) -> None:
        sealed = self._next
        if sealed is None:
            raise CryptoError("the backup is cut short", code="crypto.backup.altered")
        self._next = self._record()
        last = self._next is None
        try:
            plain = self._aead.decrypt(_nonce(self._prefix, self._counter, last), sealed, self._aad)
        except InvalidTag as exc:
            raise CryptoError(
                "the backup does not open: wrong passphrase, or the file was altered",
                code="crypto.backup.altered",
            ) from exc
        self._counter += 1
        self._buf += plain
        self._done = last

    def read(self, n: int = -1) -> bytes:
        while not self._done and (n < 0 or len(self._buf) < n):
            self._fill()
        take = len(self._buf) if n < 0 else min(n, len(self._buf))
        out = bytes(self._buf[:take])
        del self._buf[:take]
        return out
