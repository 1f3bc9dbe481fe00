"""The peer port's own accept path, in front of uvicorn's HTTP protocol.

Why not uvicorn's ``ssl=`` (``loop.create_server(..., ssl=ctx)``): asyncio builds an
``SSLProtocol`` for every accepted socket at once, and each one allocates a 256 KiB read
buffer (``asyncio.sslproto.SSLProtocol.max_size``) before a single byte has arrived; with the
default 60 s handshake timeout and no connection limit, 1,000 idle TCP connections held
~300 MB (measured: ``bench/peer_connections.py``, docs/performance.md).

Here each accepted socket first costs only a small task that waits, with the handshake
deadline, for the ClientHello to become readable (nothing is read); only then does
``loop.connect_accepted_socket(ssl=...)`` start TLS, within what is left of the same deadline.
Connections over ``max_connections`` (pending handshakes plus established ones) are closed
at once. After the handshake the connection belongs to uvicorn's protocol, as before.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from ctop_node.online._malloc import release_free_heap

log = logging.getLogger(__name__)

_TLS_HANDSHAKE = b"\x16"  # TLS record type of a ClientHello
_REFUSAL_LOG_EVERY_S = 10.0
_RECLAIM_AFTER_S = 2.0  # a flood is one warning per interval, not one per connection


@dataclass(frozen=True, slots=True)
class FrontLimits:
    max_connections: int
    handshake_timeout: float
    backlog: int = 1024


class TlsFront:
    """Listens on ``host:port`` and hands each connection, TLS done, to ``protocol_factory``.

    ``established`` counts the connections already handed over and still open (uvicorn's
    ``server_state.connections``); the limit applies to those plus pending handshakes.
    """

    def __init__(
        self,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext,
        protocol_factory: Callable[[], asyncio.Protocol],
        limits: FrontLimits,
        established: Callable[[], int],
    ) -> None:
        self.host = host
        self.port = port
        self._ctx = ssl_context
        self._factory = protocol_factory
        self.limits = limits
        self._established = established
        self._sock: socket.socket | None = None
        self._accept_task: asyncio.Task[None] | None = None
        self._handshakes: set[asyncio.Task[None]] = set()
        self.refused = 0
        self._refused_logged = 0
        self._last_refusal_log = float("-inf")
        self._reclaim: asyncio.TimerHandle | None = None

    @property
    def pending(self) -> int:
        """Connections accepted whose TLS handshake has not finished."""
        return len(self._handshakes)

    @property
    def sockets(self) -> list[socket.socket]:
        return [self._sock] if self._sock is not None else []

    async def start(self) -> None:
        """Bind and listen (``OSError`` when the address is taken or not local)."""
        infos = socket.getaddrinfo(
            self.host, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        family, kind, proto, _, addr = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(addr)
            sock.listen(self.limits.backlog)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._sock = sock
        self.port = int(sock.getsockname()[1])
        self._accept_task = asyncio.create_task(self._accept_loop(), name="ctop-peer-accept")

    def close(self) -> None:
        """Stop accepting and drop pending handshakes (established connections are
        uvicorn's to shut down)."""
        if self._accept_task is not None:
            self._accept_task.cancel()
        if self._reclaim is not None:
            self._reclaim.cancel()
            self._reclaim = None
        for task in list(self._handshakes):
            task.cancel()
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    async def wait_closed(self) -> None:
        """After :meth:`close`: until the accept loop and pending handshakes have ended."""
        tasks = [t for t in (self._accept_task, *self._handshakes) if t is not None]
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._sock is not None
        listener = self._sock
        while True:
            try:
                conn, addr = await loop.sock_accept(listener)
            except OSError as exc:  # EMFILE and friends: back off instead of spinning
                log.warning("peer port: accept failed: %s", exc)
                await asyncio.sleep(0.1)
                continue
            if self.pending + self._established() >= self.limits.max_connections:
                self._refuse(conn, loop.time())
                continue
            task = asyncio.create_task(self._handshake(conn, addr))
            self._handshakes.add(task)
            task.add_done_callback(self._handshakes.discard)

    def _failed(self) -> None:
        if self._reclaim is None:
            loop = asyncio.get_running_loop()
            self._reclaim = loop.call_later(_RECLAIM_AFTER_S, self._reclaim_memory)

    def _reclaim_memory(self) -> None:
        """A failed TLS handshake leaves its SSL transport, protocol and 256 KiB buffer in
        reference cycles: nothing frees them until the cyclic collector runs, and on a quiet
        node that can be never. Collect once a burst of handshakes has passed, at most
        every ``_RECLAIM_AFTER_S``, then hand the freed heap back to the OS."""
        self._reclaim = None
        gc.collect()
        release_free_heap()

    def _refuse(self, conn: socket.socket, now: float) -> None:
        conn.close()
        self.refused += 1
        if now - self._last_refusal_log >= _REFUSAL_LOG_EVERY_S:
            log.warning(
                "peer port: connection limit %d reached; refused %d connection(s) so far",
                self.limits.max_connections,
                self.refused,
            )
            self._last_refusal_log = now

    async def _handshake(self, conn: socket.socket, addr: tuple[object, ...]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.handshake_timeout
        who = str(addr[0])
        handed_over = False
        try:
            async with asyncio.timeout_at(deadline):
                await _readable(loop, conn)
            if not _client_hello_next(conn):  # EOF or not TLS: no SSL object for it
                log.info("peer %s: closed before TLS, or sent no TLS ClientHello", who)
                return
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError
            await loop.connect_accepted_socket(
                self._factory, conn, ssl=self._ctx, ssl_handshake_timeout=left
            )
            handed_over = True
        except TimeoutError:
            log.info(
                "peer %s: no TLS handshake within %s s; connection closed",
                who,
                self.limits.handshake_timeout,
            )
        except OSError as exc:  # ssl.SSLError, a reset, asyncio's handshake abort
            log.info("peer %s: TLS handshake failed: %s", who, _reason(exc))
        finally:
            if not handed_over:  # also on cancellation (shutdown)
                conn.close()
                self._failed()


async def _readable(loop: asyncio.AbstractEventLoop, conn: socket.socket) -> None:
    """Wait until ``conn`` has bytes (or EOF) to read, without reading them."""
    fd = conn.fileno()
    ready: asyncio.Future[None] = loop.create_future()

    def on_ready() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, on_ready)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


def _client_hello_next(conn: socket.socket) -> bool:
    """Whether the first byte waiting is a TLS handshake record (0x16), peeked, not read.
    A peer that connected and closed without a word gets no TLS machinery at all."""
    try:
        first = conn.recv(1, socket.MSG_PEEK)
    except (BlockingIOError, InterruptedError):
        return True  # spurious wake-up: let the handshake (and its deadline) decide
    except OSError:
        return False
    return first == _TLS_HANDSHAKE


def _reason(exc: OSError) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason)
    return str(exc) or type(exc).__name__
