"""The peer endpoint (ASGI, Starlette): batches of sealed messages in, one answer each out.

    POST /ctop/v1/messages   Content-Type: application/cbor, body = CBOR array of byte strings
        200 application/cbor: array of {"status", "answer", "code", "message"}, same order
        400 not a CBOR array of byte strings   413 over max_body or max_messages
        415 wrong content type                 503 the database is unavailable
    GET  /ctop/v1/health     200 {"party": ..., "tc_versions": [...]}

Whole-request errors carry a JSON body ``{"code", "message"}``. The body size is checked
while it streams in, so an oversized request is refused before it is all read. Messages are
handled in a worker thread (database and signatures are blocking work). Identity is not
taken from TLS (uvicorn does not pass the client certificate on): every message is
authenticated by its own signature in the receiver.

``faults`` (:class:`EndpointFaults`) is the seam through which tests inject process faults at
the worst moment (after the commit, before the answer); production passes none, and nothing
is read from the environment.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import cbor2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ctop_node.crypto.cose import strict_loads
from ctop_node.crypto.errors import MalformedMessage
from ctop_node.errors import StorageError
from ctop_node.exchange.receive import ItemResult, Receiver

log = logging.getLogger(__name__)

MESSAGES_PATH = "/ctop/v1/messages"
HEALTH_PATH = "/ctop/v1/health"
CBOR = "application/cbor"
MAX_BODY = 16 * 1024 * 1024
MAX_MESSAGES = 500
_BATCH_DEPTH = 2  # an array of byte strings; anything deeper is not a batch


class _TooLarge(Exception):
    pass


class EndpointFaults(Protocol):
    """Faults a test injects into the endpoint (``tests/_faults.py``)."""

    def batch_committed(self) -> None:
        """Called once a batch is committed, before its answer is written."""
        ...


def _problem(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _item(result: ItemResult) -> dict[str, Any]:
    return {
        "status": result.status,
        "answer": result.answer,
        # A missing value is null on the wire, never "" (a receipt has no code).
        "code": result.code or None,
        "message": result.message or None,
    }


def peer_app(
    receiver: Receiver,
    *,
    max_body: int = MAX_BODY,
    max_messages: int = MAX_MESSAGES,
    faults: EndpointFaults | None = None,
) -> Starlette:
    """The ASGI app of the peer port, answering for ``receiver``. ``faults``: tests only."""

    async def messages(request: Request) -> Response:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != CBOR:
            return _problem(415, "exchange.content_type", f"send {CBOR}, not {ctype or 'nothing'}")
        try:
            body = await _read_limited(request, max_body)
        except _TooLarge:
            return _problem(413, "exchange.too_large", f"the body exceeds {max_body} bytes")
        try:
            batch = strict_loads(body, max_size=max_body, max_depth=_BATCH_DEPTH)
        except MalformedMessage as exc:
            return _problem(400, "exchange.bad_batch", exc.message)
        if not isinstance(batch, list) or not all(isinstance(m, bytes) for m in batch):
            return _problem(400, "exchange.bad_batch", "the body must be a CBOR array of bytes")
        if len(batch) > max_messages:
            message = f"{len(batch)} messages; at most {max_messages} per request"
            return _problem(413, "exchange.too_many_messages", message)
        try:
            results = await run_in_threadpool(receiver.handle_batch, batch)
        except StorageError as exc:
            log.error("database unavailable: %s", exc.code)
            return _problem(503, exc.code, "the receiving database is unavailable; retry later")
        if faults is not None:
            faults.batch_committed()  # committed, answer not written yet
        return Response(bytes(cbor2.dumps([_item(r) for r in results])), media_type=CBOR)

    async def health(request: Request) -> Response:
        return JSONResponse({"party": receiver.party, "tc_versions": receiver.tc_versions})

    return Starlette(
        routes=[
            Route(MESSAGES_PATH, messages, methods=["POST"]),
            Route(HEALTH_PATH, health, methods=["GET"]),
        ]
    )
