"""ASGI middleware of the peer port: a deadline on reading a request body, and one log line
(no traceback) when a peer goes away in the middle of a request.

uvicorn times out neither a body that trickles in nor a client that stops sending it; a peer
holding 200 such requests held 200 tasks and their buffers for ever. Here the whole body must
arrive within ``timeout`` seconds of the first read: otherwise the peer gets ``408`` with
``Connection: close`` (code ``exchange.body_timeout``) and the connection is closed. Nothing
of the request was handled, so the sender's retry is safe.
"""

from __future__ import annotations

import asyncio
import logging

import orjson
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

BODY_TIMEOUT_CODE = "exchange.body_timeout"


class _BodyTimeout(Exception):
    """The body did not arrive in time; the 408 is already sent."""


class BodyDeadline:
    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        body_done = False
        answered = False
        started = False

        async def timed_receive() -> Message:
            nonlocal deadline, body_done, answered
            if body_done:
                return await receive()
            if deadline is None:
                deadline = loop.time() + self.timeout
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                if not started:
                    await _send_408(send, self.timeout)
                answered = True
                raise _BodyTimeout from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if answered:  # the app's error response after our 408: drop it
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        who = _client(scope)
        try:
            await self.app(scope, timed_receive, guarded_send)
        except _BodyTimeout:
            log.warning(
                "peer %s: request body not received within %s s; answered 408 and closed",
                who,
                self.timeout,
            )
        except ClientDisconnect:
            log.info("peer %s: disconnected before the request body was complete", who)


async def _send_408(send: Send, timeout: float) -> None:
    body = orjson.dumps(
        {
            "code": BODY_TIMEOUT_CODE,
            "message": f"the request body did not arrive within {timeout} s",
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 408,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "?"
