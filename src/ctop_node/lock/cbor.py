"""Strict CBOR for everything a lock holds: one canonical encoding per value, nothing else.

cbor2 is liberal on purpose (it keeps the last of duplicate map keys, ignores trailing bytes,
turns dozens of tags into Python objects). A lock file arrives from a device the carrier
controls, so we accept a smaller language, checked in two steps:

1. a scan of the item heads (no values are built) that bounds size and depth, refuses
   indefinite lengths, floats, simple values other than false/true/null, tags other than the
   allowed COSE tags, map keys that are not int/bytes/text, duplicate map keys and trailing
   bytes, and length prefixes that point past the end of the data;
2. cbor2 builds the value, and the value must re-encode (RFC 8949 §4.2 deterministic,
   cbor2 ``canonical=True``) to exactly the input bytes.

Step 2 alone would refuse every non-canonical input; step 1 gives each refusal its own code
and keeps cbor2 away from hostile length prefixes and deep nesting. Duplicate keys are found
by comparing the raw bytes of the keys of one map: in canonical CBOR equal keys have equal
bytes, and a non-canonical spelling of a key is refused by step 2.
"""

from __future__ import annotations

import io
from typing import Any

import cbor2

from ctop_node.lock.errors import CborError

MAX_SIZE = 64 * 1024
MAX_DEPTH = 16
# COSE_Encrypt0, COSE_Sign1, COSE_Encrypt (RFC 9052); nothing else is needed on a lock.
COSE_TAGS = frozenset({16, 18, 96})

_SIMPLE_OK = frozenset({20, 21, 22})  # false, true, null
_KEY_MAJORS = frozenset({0, 1, 2, 3})  # int, negative int, bytes, text


def encode(value: Any) -> bytes:
    """The canonical CBOR of ``value`` (the only form :func:`decode` accepts)."""
    try:
        return bytes(cbor2.dumps(value, canonical=True))
    except Exception as exc:  # library boundary: cbor2 raises several unrelated types
        raise CborError(f"value cannot be encoded as CBOR: {exc}", code="lock.cbor.encode") from exc


def decode(
    data: bytes,
    *,
    max_size: int = MAX_SIZE,
    max_depth: int = MAX_DEPTH,
    allowed_tags: frozenset[int] = COSE_TAGS,
) -> Any:
    """Decode one canonical CBOR item that fills ``data`` exactly; refuse anything else."""
    if not isinstance(data, bytes | bytearray):
        raise CborError("CBOR input must be bytes", code="lock.cbor.malformed")
    data = bytes(data)
    if len(data) > max_size:
        raise CborError(
            f"CBOR item of {len(data)} bytes is over the limit of {max_size} bytes",
            code="lock.cbor.size",
        )
    if not data:
        raise CborError("CBOR input is empty", code="lock.cbor.malformed")
    end = _Scanner(data, max_depth, allowed_tags).item(0, 0)
    if end != len(data):
        raise CborError(
            f"{len(data) - end} bytes after the end of the CBOR item", code="lock.cbor.trailing"
        )
    fp = io.BytesIO(data)
    try:
        # max_depth here is only a second guard: the scan already enforced the limit.
        value = cbor2.CBORDecoder(fp, max_depth=max_depth + 2).decode()
    except Exception as exc:  # library boundary: never let a cbor2 error escape
        raise CborError(f"CBOR cannot be decoded: {exc}", code="lock.cbor.malformed") from exc
    if fp.tell() != len(data):
        raise CborError("bytes after the end of the CBOR item", code="lock.cbor.trailing")
    if encode(value) != data:
        raise CborError(
            "CBOR is not in canonical form (RFC 8949 §4.2)", code="lock.cbor.noncanonical"
        )
    return value


class _Scanner:
    """Walks item heads; returns end offsets; raises ``CborError`` on anything not allowed."""

    __slots__ = ("allowed_tags", "data", "max_depth", "size")

    def __init__(self, data: bytes, max_depth: int, allowed_tags: frozenset[int]) -> None:
        self.data = data
        self.size = len(data)
        self.max_depth = max_depth
        self.allowed_tags = allowed_tags

    def head(self, pos: int) -> tuple[int, int, int]:
        """(major type, argument, offset after the head)."""
        if pos >= self.size:
            raise CborError("CBOR data ends inside an item", code="lock.cbor.malformed")
        initial = self.data[pos]
        major, info = initial >> 5, initial & 0x1F
        pos += 1
        if info < 24:
            return major, info, pos
        if info == 31:
            raise CborError(
                "indefinite-length items are not allowed", code="lock.cbor.noncanonical"
            )
        if info > 27:
            raise CborError(f"reserved CBOR head 0x{initial:02x}", code="lock.cbor.malformed")
        width = 1 << (info - 24)
        if pos + width > self.size:
            raise CborError("CBOR data ends inside an item head", code="lock.cbor.malformed")
        return major, int.from_bytes(self.data[pos : pos + width], "big"), pos + width

    def item(self, start: int, depth: int) -> int:
        major, arg, pos = self.head(start)
        if major in (0, 1):
            return pos
        if major in (2, 3):
            if arg > self.size - pos:
                raise CborError(
                    f"string length {arg} points past the end of the data",
                    code="lock.cbor.malformed",
                )
            return pos + arg
        if major == 7:
            if arg not in _SIMPLE_OK or pos - start != 1:
                raise CborError(
                    "only false, true and null are allowed (no floats or other simple values)",
                    code="lock.cbor.type",
                )
            return pos
        depth += 1
        if depth > self.max_depth:
            raise CborError(
                f"CBOR nesting deeper than {self.max_depth} levels", code="lock.cbor.depth"
            )
        if major == 4:
            # Every element takes at least one byte: a larger count is a lie.
            if arg > self.size - pos:
                raise CborError(
                    f"array of {arg} items is longer than the data", code="lock.cbor.malformed"
                )
            for _ in range(arg):
                pos = self.item(pos, depth)
            return pos
        if major == 5:
            if arg > (self.size - pos) // 2:
                raise CborError(
                    f"map of {arg} pairs is longer than the data", code="lock.cbor.malformed"
                )
            seen: set[bytes] = set()
            for _ in range(arg):
                if pos < self.size and self.data[pos] >> 5 not in _KEY_MAJORS:
                    raise CborError(
                        "map keys must be integers, byte strings or text", code="lock.cbor.type"
                    )
                key_end = self.item(pos, depth)
                key = self.data[pos:key_end]
                if key in seen:
                    raise CborError("duplicate map key", code="lock.cbor.duplicate_key")
                seen.add(key)
                pos = self.item(key_end, depth)
            return pos
        # major == 6: a tag
        if arg not in self.allowed_tags:
            raise CborError(f"CBOR tag {arg} is not allowed here", code="lock.cbor.type")
        return self.item(pos, depth)
