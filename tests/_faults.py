"""Faults the tests inject into a node, from the test side (nothing in src/ reads them from
the environment): the seam is the ``faults=`` parameter of the peer endpoint
(:func:`ctop_node.online.endpoint.peer_app`) and of :class:`ctop_node.server.NodeServer`,
as httpx's ``MockTransport`` is a parameter of its client.

:class:`CrashAfterCommit`: the process ends with ``os._exit(137)`` right after the n-th
batch of messages has been handled (every item's inbox transaction committed) and before the
HTTP response is written: a ``kill -9`` at the worst moment for the sender, which must then
retry and get the original receipts back, with nothing stored twice. ``tests/_faulty_node.py``
starts a real node with it.
"""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger(__name__)

CRASH_EXIT_CODE = 137  # what a shell reports for a process killed by SIGKILL


class CrashAfterCommit:
    """Counts committed batches; ends the process at the ``n``-th."""

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError(f"crash after batch {n}: give a batch number >= 1")
        self.n = n
        self._seen = 0
        self._lock = threading.Lock()

    def batch_committed(self) -> None:
        with self._lock:
            self._seen += 1
            if self._seen != self.n:
                return
        log.warning("test fault: exiting after committed batch %d", self.n)
        for handler in logging.getLogger().handlers:  # the test reads why the process ended
            handler.flush()
        os._exit(CRASH_EXIT_CODE)
