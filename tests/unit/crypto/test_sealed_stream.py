"""The passphrase-sealed stream of backups: any size round-trips in chunks; a wrong
passphrase, a flipped byte, a chunk dropped, cut off or added, or a forged header is refused."""

from __future__ import annotations

import io
import json
import os
import struct

import pytest

from ctop_node.crypto.sealed_stream import CHUNK, MAGIC, OpeningReader, SealingWriter
from ctop_node.errors import CryptoError

PASS = "correct horse battery staple"


def _seal(data: bytes, passphrase: str = PASS) -> bytes:
    out = io.BytesIO()
    w = SealingWriter(out, passphrase)
    for i in range(0, len(data), 300_000):  # writes of any size
        w.write(data[i : i + 300_000])
    w.close()
    return out.getvalue()


def _open(sealed: bytes, passphrase: str = PASS) -> bytes:
    r = OpeningReader(io.BytesIO(sealed), passphrase)
    parts = []
    while chunk := r.read(70_000):
        parts.append(chunk)
    return b"".join(parts)


def _records(sealed: bytes) -> tuple[bytes, list[bytes]]:
    """(magic + header, [length-prefixed records])"""
    size = struct.unpack(">I", sealed[len(MAGIC) : len(MAGIC) + 4])[0]
    pos = len(MAGIC) + 4 + size
    head, out = sealed[:pos], []
    while pos < len(sealed):
        n = struct.unpack(">I", sealed[pos : pos + 4])[0]
        out.append(sealed[pos : pos + 4 + n])
        pos += 4 + n
    return head, out


@pytest.mark.parametrize("size", [0, 1, CHUNK, CHUNK + 1, 2 * CHUNK + 5])
def test_round_trip(size: int) -> None:
    data = os.urandom(size)
    sealed = _seal(data)
    assert size < 16 or data[:16] not in sealed  # nothing in the clear
    assert _open(sealed) == data
    _, records = _records(sealed)
    assert len(records) == size // CHUNK + (1 if size % CHUNK or size == 0 else 0)


def test_refusals() -> None:
    data = os.urandom(2 * CHUNK + 10)
    sealed = _seal(data)
    head, records = _records(sealed)

    def refused(blob: bytes, passphrase: str = PASS) -> str:
        with pytest.raises(CryptoError) as err:
            _open(blob, passphrase)
        return err.value.code

    assert refused(sealed, "another passphrase!") == "crypto.backup.altered"
    flipped = bytearray(sealed)
    flipped[len(head) + 100] ^= 1
    assert refused(bytes(flipped)) == "crypto.backup.altered"
    assert refused(head + b"".join(records[:-1])) == "crypto.backup.altered"  # last chunk gone
    assert refused(sealed[:-1]) == "crypto.backup.altered"  # cut inside the last chunk
    swapped = head + records[1] + records[0] + records[2]
    assert refused(swapped) == "crypto.backup.altered"
    assert refused(sealed + records[1]) == "crypto.backup.altered"  # a chunk added
    assert refused(b"PK\x03\x04" + sealed) == "crypto.backup.format"
    # a header asking scrypt for 16 GiB is refused before any key is derived
    size = struct.unpack(">I", head[len(MAGIC) : len(MAGIC) + 4])[0]
    header = json.loads(head[len(MAGIC) + 4 :])
    header["n"] = 1 << 24
    raw = json.dumps(header).encode()
    forged = MAGIC + struct.pack(">I", len(raw)) + raw + sealed[len(MAGIC) + 4 + size :]
    assert refused(forged) == "crypto.backup.format"


def test_a_short_passphrase_is_refused() -> None:
    with pytest.raises(CryptoError) as err:
        SealingWriter(io.BytesIO(), "short")
    assert err.value.code == "crypto.backup.passphrase"
