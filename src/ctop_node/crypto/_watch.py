"""Notice that files in a node home changed, cheaply: a running node picks up a new CRL, a
trust update or rotated keys without a restart. At most one ``stat`` round per ``interval``
seconds, so a busy receiver does not stat files for every message."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

Signature = tuple[tuple[str, int, int], ...]


def _signature(paths: Iterable[Path]) -> Signature:
    out = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            out.append((str(path), -1, -1))
            continue
        out.append((str(path), st.st_mtime_ns, st.st_size))
    return tuple(sorted(out))


class FileWatch:
    """``changed()`` is true once after any of ``files()`` appeared, vanished or changed."""

    def __init__(self, files: Callable[[], Iterable[Path]], *, interval: float = 1.0) -> None:
        self._files = files
        self._interval = interval
        self._checked = time.monotonic()
        self._seen = _signature(files())

    def changed(self, *, force: bool = False) -> bool:
        now = time.monotonic()
        if not force and now - self._checked < self._interval:
            return False
        self._checked = now
        seen = _signature(self._files())
        if seen == self._seen:
            return False
        self._seen = seen
        return True
