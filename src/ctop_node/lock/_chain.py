"""The digest rule of the lock event log: the only code the writer and the verifier share.

entry_hash(n) = SHA-256(entry_hash(n-1) || canonical CBOR of event n), and the chain of a
lock starts from a genesis value bound to the lock ID, so a log cannot be moved to another lock.
"""

from __future__ import annotations

import hashlib

DIGEST_SIZE = 32
_GENESIS_LABEL = b"ctop-lock-log/1\x00"


def genesis(lock_id: str) -> bytes:
    return hashlib.sha256(_GENESIS_LABEL + lock_id.encode("utf-8")).digest()


def link(prev_hash: bytes, event_bytes: bytes) -> bytes:
    return hashlib.sha256(prev_hash + event_bytes).digest()
