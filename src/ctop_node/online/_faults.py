"""Test-only fault hooks of the peer endpoint. Off unless their environment variable is set
when the process starts; the end-to-end fault tests set them, production never does.

``CTOP_FAULT_CRASH_AFTER_COMMIT=<n>``: the process ends with ``os._exit(137)`` right after
the n-th batch of messages has been handled (every item's inbox transaction committed) and
before the HTTP response is written: a ``kill -9`` at the worst moment for the sender, which
must then retry and get the original receipts back, with nothing stored twice.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping

from ctop_node.errors import ConfigError

log = logging.getLogger(__name__)

CRASH_AFTER_COMMIT = "CTOP_FAULT_CRASH_AFTER_COMMIT"
CRASH_EXIT_CODE = 137  # what a shell reports for a process killed by SIGKILL


class CrashAfterCommit:
    """Counts committed batches; ends the process at the ``n``-th (never when ``n`` is None)."""

    def __init__(self, n: int | None = None) -> None:
        self.n = n
        self._seen = 0
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> CrashAfterCommit:
        raw = environ.get(CRASH_AFTER_COMMIT, "").strip()
        if not raw:
            return cls(None)
        if not raw.isdigit() or int(raw) < 1:
            raise ConfigError(
                f"{CRASH_AFTER_COMMIT}={raw!r}: give a batch number >= 1",
                code="config.fault_hook",
            )
        log.warning("test fault hook on: exit after committed batch %s", raw)
        return cls(int(raw))

    def batch_committed(self) -> None:
        if self.n is None:
            return
        with self._lock:
            self._seen += 1
            if self._seen != self.n:
                return
        log.warning("test fault hook: exiting after committed batch %d", self.n)
        for handler in logging.getLogger().handlers:  # the test reads why the process ended
            handler.flush()
        os._exit(CRASH_EXIT_CODE)
