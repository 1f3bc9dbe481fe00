"""Give freed buffers back to the operating system (glibc only; elsewhere a no-op).

Each TLS connection in asyncio owns a 256 KiB read buffer. glibc serves such blocks with
mmap (returned on free) only below its *dynamic* mmap threshold, which rises to the size of
the first large block freed; after that the buffers come from the heap, and a burst of
handshakes leaves hundreds of MB the process never returns. Pinning the threshold at its
initial 128 KiB turns the dynamic rule off: every 256 KiB buffer is mapped and unmapped.
"""

from __future__ import annotations

import ctypes
import functools
import logging

log = logging.getLogger(__name__)

_M_MMAP_THRESHOLD = -3  # glibc <malloc.h>
_THRESHOLD = 128 * 1024


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library already loaded in this process (``dlopen(NULL)``: no search, no
    subprocess, unlike ``ctypes.util.find_library``)."""
    try:
        return ctypes.CDLL(None)
    except OSError:
        return None


def pin_mmap_threshold() -> bool:
    """Pin glibc's mmap threshold at 128 KiB; ``False`` where there is no glibc."""
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = bool(mallopt(_M_MMAP_THRESHOLD, _THRESHOLD))
    log.debug("malloc mmap threshold pinned at %d bytes: %s", _THRESHOLD, ok)
    return ok


def release_free_heap() -> bool:
    """``malloc_trim(0)``: return free heap pages (small blocks freed in bulk) to the OS."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is None:
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return bool(trim(0))
