"""THE digest rule of the audit chain, the only code the writer and the verifiers share.

An entry is canonical JSON (sorted keys, no spaces) of its fields; ``detail_digest`` stands
for the detail. Each entry's digest is ``SHA-256(previous digest || SHA-256(entry))`` (both
raw 32 bytes), the first entry's previous digest being 32 zero bytes, as X-Road links its
message-log archives. A checkpoint is the node's signature over :func:`checkpoint_payload`.
Changing anything here breaks every chain already written: it is a format, versioned below.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

RULE = "ctop-audit-chain/1"
GENESIS = "0" * 64
ENTRY_FIELDS = ("seq", "at", "actor", "action", "object", "purpose", "origin", "detail_digest")


def timestamp(at: datetime) -> str:
    """Entry times in the chain: UTC, microseconds (what both databases keep)."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def detail_digest(detail: str) -> str:
    return hashlib.sha256(detail.encode("utf-8")).hexdigest()


def canonical_entry(entry: Mapping[str, Any]) -> bytes:
    fields = {k: entry[k] for k in ENTRY_FIELDS}
    if isinstance(fields["at"], datetime):
        fields["at"] = timestamp(fields["at"])
    return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)


def chain_digest(previous: str, entry: Mapping[str, Any]) -> str:
    """The digest of ``entry`` linked to the ``previous`` entry's digest (hex)."""
    inner = hashlib.sha256(canonical_entry(entry)).digest()
    return hashlib.sha256(bytes.fromhex(previous) + inner).hexdigest()


def checkpoint_payload(party: str, seq: int, digest: str, at: datetime) -> bytes:
    return orjson.dumps(
        {"rule": RULE, "party": party, "seq": seq, "digest": digest, "at": timestamp(at)},
        option=orjson.OPT_SORT_KEYS,
    )
