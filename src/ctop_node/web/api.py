"""Internal API for the clearance system (internal port, never the peer port).

``POST /api/v1/records`` takes records in the same formats as ``ctop-node ingest`` and answers
with the same summary (five outcomes that add up, errors naming record and field).
Authentication: ``Authorization: Bearer <token>``; the token lives in the node home (0600).
"""

from __future__ import annotations

import hmac
import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ctop_node.errors import InputError, RecordError, UsageError
from ctop_node.ingest.formats import reader_for
from ctop_node.ingest.pipeline import IngestPipeline

TOKEN_FILE = "api-token"
MAX_REASON = 512  # the ``reason`` of the CANCELLATION payload
MAX_CANCEL_BODY = 8 * 1024
MAX_UPLOAD = 1 << 30  # one upload of up to 1 GiB is spooled to disk, never held in memory
_CONTENT_FORMATS = {
    "application/x-ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "application/json": "json",
    "application/xml": "xml",
    "text/xml": "xml",
    "text/csv": "csv",
}


def ensure_api_token(home: Path) -> str:
    """The node's API token, created on first use (0600)."""
    path = home / "keys" / TOKEN_FILE
    if path.exists():
        return path.read_text("utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token)
    return token


def _problem(status: int, code: str, message: str) -> HTTPException:
    return HTTPException(status, detail={"code": code, "message": message})


def _cancel_reason(body: bytes) -> str:
    if len(body) > MAX_CANCEL_BODY:
        raise _problem(
            413, "api.too_large", f"a cancellation body is at most {MAX_CANCEL_BODY} bytes"
        )
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _problem(400, "api.body", 'the body must be JSON: {"reason": "..."}') from exc
    reason = data.get("reason") if isinstance(data, dict) else None
    if not isinstance(reason, str) or not 0 < len(reason.strip()) <= MAX_REASON:
        raise _problem(
            400, "cancel.reason", f'"reason" must be text of 1 to {MAX_REASON} characters'
        )
    return reason.strip()


def api_app(
    pipeline: IngestPipeline,
    token: str,
    status: Callable[[], dict[str, Any]] | None = None,
) -> FastAPI:
    app = FastAPI(title="ctop-node internal API", version="1")

    def _authorise(request: Request) -> None:
        header = request.headers.get("authorization", "")
        given = header[7:] if header.lower().startswith("bearer ") else ""
        if not given or not hmac.compare_digest(given.encode(), token.encode()):
            raise _problem(401, "api.unauthorised", "missing or wrong bearer token")

    @app.post("/api/v1/records")
    async def post_records(
        request: Request, format: str | None = Query(default=None)
    ) -> JSONResponse:
        _authorise(request)
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        fmt = format or _CONTENT_FORMATS.get(ctype)
        if fmt is None:
            raise _problem(
                415,
                "api.content_type",
                f"unknown content type {ctype!r}; give ?format=ndjson|json|xml|csv",
            )
        with tempfile.TemporaryDirectory(prefix="ctop-upload-") as tmp:
            path = Path(tmp) / f"upload.{fmt}"
            size = 0
            with path.open("wb") as fh:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > MAX_UPLOAD:
                        raise _problem(413, "api.too_large", f"upload over {MAX_UPLOAD} bytes")
                    fh.write(chunk)
            try:
                reader = reader_for(path, fmt)
            except UsageError as exc:
                raise _problem(400, exc.code, exc.message) from exc

            def work() -> dict[str, Any]:
                return pipeline.run(reader.read(path)).as_dict()

            try:
                result = await run_in_threadpool(work)
            except InputError as exc:
                raise _problem(400, exc.code, exc.message) from exc
        # 200 even with rejections: each record has its outcome; the counts add up.
        return JSONResponse(result)

    @app.post("/api/v1/records/{record_id}/cancel")
    async def cancel_record(record_id: str, request: Request) -> JSONResponse:
        """Cancel one of our records at every peer (JSON body ``{"reason": "..."}``)."""
        _authorise(request)
        body = bytearray()
        async for chunk in request.stream():  # capped while reading, never held whole
            body += chunk
            if len(body) > MAX_CANCEL_BODY:
                break
        reason = _cancel_reason(bytes(body))
        party = pipeline.classifier.policy.party

        def work() -> dict[str, Any]:
            return pipeline.store.cancel_record(record_id, reason, origin_party=party).as_dict()

        try:
            result = await run_in_threadpool(work)
        except RecordError as exc:
            status = 409 if exc.code == "record.already_cancelled" else 404
            raise _problem(status, exc.code, exc.message) from exc
        return JSONResponse(result)

    @app.get("/api/v1/health")
    async def health() -> JSONResponse:
        # Unauthenticated on purpose: readiness probes; says nothing about the data.
        return JSONResponse({"ready": True})

    @app.get("/api/v1/status")
    async def get_status(request: Request) -> JSONResponse:
        _authorise(request)
        return JSONResponse(await run_in_threadpool(status) if status else {})

    return app
