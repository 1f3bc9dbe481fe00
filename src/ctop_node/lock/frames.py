"""Transfer to and from a lock in small frames (<= 256 bytes), so a reader can resume.

A frame is canonical CBOR ``[transfer, index, total, check, chunk]``: ``transfer`` is the
first 8 bytes of SHA-256 of the whole blob (frames of two transfers cannot mix), ``check``
the first 8 bytes of SHA-256(transfer || index || chunk). The assembled blob must hash to
``transfer``. :class:`FrameReader` keeps every good frame and says which index to ask for
next, so a broken link costs only the frames not yet received.
"""

from __future__ import annotations

import hashlib

from ctop_node.lock import cbor
from ctop_node.lock.errors import CborError, FrameError

MAX_FRAME = 256
_TAG = 8
# Head of [8-byte bstr, uint16, uint16, 8-byte bstr, bstr(len < 65536)]: at most 22 bytes.
_OVERHEAD = 1 + 9 + 3 + 3 + 9 + 3


def _check(transfer: bytes, index: int, chunk: bytes) -> bytes:
    return hashlib.sha256(transfer + index.to_bytes(4, "big") + chunk).digest()[:_TAG]


def split(data: bytes, *, size: int = MAX_FRAME) -> list[bytes]:
    if not _OVERHEAD < size <= MAX_FRAME:
        raise FrameError(f"frame size must be {_OVERHEAD + 1}..{MAX_FRAME} bytes")
    chunk_size = size - _OVERHEAD
    transfer = hashlib.sha256(data).digest()[:_TAG]
    chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)] or [b""]
    if len(chunks) > 0xFFFF:
        raise FrameError(f"{len(data)} bytes need too many frames", code="lock.frame.too_large")
    total = len(chunks)
    return [
        cbor.encode([transfer, i, total, _check(transfer, i, c), c]) for i, c in enumerate(chunks)
    ]


class FrameReader:
    """Collects frames in order; ``next_index`` is where to resume after a broken link."""

    def __init__(self) -> None:
        self._transfer: bytes | None = None
        self._total = 0
        self._chunks: list[bytes] = []

    @property
    def next_index(self) -> int:
        return len(self._chunks)

    @property
    def done(self) -> bool:
        return self._transfer is not None and len(self._chunks) == self._total

    def feed(self, frame: bytes) -> None:
        """Accept the next frame or raise ``FrameError`` (the reader's state is unchanged)."""
        try:
            value = cbor.decode(frame, max_size=MAX_FRAME, max_depth=2, allowed_tags=frozenset())
        except CborError as exc:
            raise FrameError(f"unreadable frame: {exc.message}", code="lock.frame.bad") from exc
        if not (isinstance(value, list) and len(value) == 5):
            raise FrameError("not a frame", code="lock.frame.bad")
        transfer, index, total, check, chunk = value
        if not (
            isinstance(transfer, bytes)
            and isinstance(index, int)
            and isinstance(total, int)
            and isinstance(check, bytes)
            and isinstance(chunk, bytes)
            and 0 <= index < total <= 0xFFFF
        ):
            raise FrameError("frame fields have the wrong types", code="lock.frame.bad")
        if _check(transfer, index, chunk) != check:
            raise FrameError(f"frame {index} is damaged", code="lock.frame.check")
        if self._transfer is None:
            self._transfer, self._total = transfer, total
        elif (transfer, total) != (self._transfer, self._total):
            raise FrameError("frame of another transfer", code="lock.frame.transfer")
        if index != self.next_index:
            raise FrameError(
                f"frame {index} received, frame {self.next_index} expected",
                code="lock.frame.order",
            )
        self._chunks.append(chunk)

    def result(self) -> bytes:
        if not self.done:
            raise FrameError(
                f"transfer incomplete: {self.next_index} of {self._total} frames",
                code="lock.frame.incomplete",
            )
        data = b"".join(self._chunks)
        if hashlib.sha256(data).digest()[:_TAG] != self._transfer:
            raise FrameError("assembled data does not match the transfer", code="lock.frame.check")
        return data
