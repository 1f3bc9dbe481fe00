"""Internal API for the clearance system (internal port, never the peer port).

``POST /api/v1/records`` takes records in the same formats as ``ctop-node ingest`` and answers
with the same summary (five outcomes that add up, errors naming record and field).
Authentication: ``Authorization: Bearer <token>``; the token lives in the node home (0600).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from ctop_node.access.audit_chain import AuditChain
from ctop_node.access.policy import Action, Purpose
from ctop_node.access.sessions import Accounts, SessionSettings, utc_now
from ctop_node.control.arrival import ControlOutcomes
from ctop_node.control.discrepancies import DEFAULT_MASS_TOLERANCE
from ctop_node.crypto.interfaces import TrustStore
from ctop_node.errors import ConfigError, InputError, RecordError, UsageError
from ctop_node.ingest.errortext import quote
from ctop_node.ingest.formats import reader_for
from ctop_node.ingest.pipeline import IngestPipeline
from ctop_node.store import SqlStore
from ctop_node.store.audit import AuditLog
from ctop_node.store.users import UserStore
from ctop_node.web.auth import WebAccess
from ctop_node.web.control import ERRORS, ErrorBody
from ctop_node.web.openapi import install_errors, install_security

TOKEN_FILE = "api-token"
# One upload is spooled to disk, never held in memory; past this it is refused with 413.
DEFAULT_MAX_UPLOAD = 64 * 1024 * 1024
MAX_UPLOAD_SETTING = "api_max_upload_bytes"  # node.json key

MAX_REASON = 512  # the ``reason`` of the CANCELLATION payload
MAX_CANCEL_BODY = 8 * 1024
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


def upload_limit(settings: Mapping[str, Any]) -> int:
    """The API's upload limit from node.json (``api_max_upload_bytes``), else the default."""
    value = settings.get(MAX_UPLOAD_SETTING, DEFAULT_MAX_UPLOAD)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(
            f"node.json: {MAX_UPLOAD_SETTING} must be a positive number of bytes, not {value!r}",
            code="config.api_max_upload",
        )
    return value


class IngestSummaryOut(BaseModel):
    """The summary of ``ctop-node ingest``: the outcomes add up to ``read``."""

    model_config = ConfigDict(extra="allow")

    read: int
    new_versions: int
    unchanged: int
    errors: list[dict[str, Any]]
    errors_not_listed: int


class Health(BaseModel):
    ready: bool


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
    *,
    max_upload: int = DEFAULT_MAX_UPLOAD,
    party: str | None = None,
    session_settings: SessionSettings | None = None,
    clock: Callable[[], datetime] = utc_now,
    control: ControlOutcomes | None = None,
    mass_tolerance: Decimal = DEFAULT_MASS_TOLERANCE,
    lock_fallback: timedelta = timedelta(seconds=1800),
    audit: AuditChain | None = None,
    report_threshold: float | None = None,
    report_trust: Callable[[], TrustStore] | None = None,
) -> FastAPI:
    """The internal port's app. With ``party`` it also serves the officers' UI (``/ui/``,
    ``/login``) and the read API for users; every route passes the one access check. Reads
    of records, refusals and logins go to ``audit`` (default: the store's chain, unsigned:
    ``serve`` gives it the node key, which signs its checkpoints)."""
    # No interactive docs page: it would load its assets from a CDN the border post lacks.
    app = FastAPI(
        title="ctop-node internal API",
        version="1",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    store = pipeline.store
    if not isinstance(store, SqlStore):
        raise UsageError("the internal API needs the SQL store", code="api.store")
    accounts = Accounts(
        UserStore(store.engine),
        clock=clock,
        settings=session_settings,
        system_token=token,
    )
    access = WebAccess(accounts, audit or AuditChain(AuditLog(store.engine), clock=clock))
    app.state.access = access  # the operator routes added later (/metrics) check with it

    def _authorise(request: Request, action: Action = Action.INGEST_RECORDS) -> None:
        purpose = Purpose.CLEARANCE if action is Action.INGEST_RECORDS else Purpose.OPERATIONS
        access.require(request, action, purpose)

    install_errors(app)
    install_security(app)

    @app.post(
        "/api/v1/records",
        response_model=IngestSummaryOut,
        responses={
            **{k: v for k, v in ERRORS.items() if k != 404},
            413: {"model": ErrorBody, "description": "The upload is over the limit"},
            415: {"model": ErrorBody, "description": "Unknown content type"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "records in one of the ingest formats (docs/ingest.md)",
                "content": {
                    ctype: {"schema": {"type": "string", "format": "binary"}}
                    for ctype in _CONTENT_FORMATS
                },
            }
        },
        tags=["records"],
    )
    async def post_records(
        request: Request, format: str | None = Query(default=None)
    ) -> JSONResponse:
        await run_in_threadpool(_authorise, request)
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        fmt = format or _CONTENT_FORMATS.get(ctype)
        if fmt is None:
            raise _problem(
                415,
                "api.content_type",
                f"unknown content type {quote(ctype)}; give ?format=ndjson|json|xml|csv",
            )
        too_large = _problem(
            413, "api.too_large", f"the upload is larger than the limit of {max_upload} bytes"
        )
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_upload:
            raise too_large  # refused before a byte of the body is read
        with tempfile.TemporaryDirectory(prefix="ctop-upload-") as tmp:
            path = Path(tmp) / f"upload.{fmt}"
            name = f"upload.{fmt}"  # what errors call it: never the server's temp path
            size = 0
            with path.open("wb") as fh:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > max_upload:
                        raise too_large
                    fh.write(chunk)
            try:
                reader = reader_for(path, fmt)
            except UsageError as exc:
                raise _problem(400, exc.code, exc.message) from exc

            def work() -> dict[str, Any]:
                return pipeline.run(reader.read(path, name=name)).as_dict()

            try:
                result = await run_in_threadpool(work)
            except InputError as exc:
                raise _problem(400, exc.code, exc.message) from exc
        # 200 even with rejections: each record has its outcome; the counts add up.
        return JSONResponse(result)

    @app.post(
        "/api/v1/records/{record_id}/cancel",
        responses={
            **ERRORS,
            409: {"model": ErrorBody, "description": "The record is already cancelled"},
            413: {"model": ErrorBody, "description": "The body is over 8 KiB"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"reason": {"type": "string", "maxLength": 512}},
                            "required": ["reason"],
                        }
                    }
                },
            }
        },
    )
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

    @app.get("/api/v1/health", response_model=Health, tags=["status"])
    async def health() -> JSONResponse:
        # Unauthenticated on purpose: readiness probes; says nothing about the data.
        return JSONResponse({"ready": True})

    @app.get(
        "/api/v1/status",
        response_model=dict[str, Any],
        responses={k: v for k, v in ERRORS.items() if k in (401, 403)},
        tags=["status"],
    )
    async def get_status(request: Request) -> JSONResponse:
        await run_in_threadpool(_authorise, request, Action.READ_STATUS)
        return JSONResponse(await run_in_threadpool(status) if status else {})

    if party is not None:
        from ctop_node.control.results import StoreControlOutcomes
        from ctop_node.reports.evaluation import DEFAULT_LOCK_SHARE_THRESHOLD
        from ctop_node.web.control import ControlResults, mount_control_api
        from ctop_node.web.departure import DepartureViews, mount_departure
        from ctop_node.web.read_api import mount_read_api
        from ctop_node.web.report import ReportViews
        from ctop_node.web.ui import UiContext, mount_ui
        from ctop_node.web.views import ArrivalViews

        views = ArrivalViews(store, mass_tolerance)
        results = ControlResults(store, party, clock, views)
        mount_control_api(app, results, access)  # before the read API's {record_id:path}
        departure = DepartureViews(store, clock, lock_fallback)
        mount_departure(app, departure, access, ERRORS)
        outcomes = control or StoreControlOutcomes(results.results)
        mount_read_api(app, store, access, party, views, outcomes)
        ui = UiContext(access, views, party, clock=clock)
        ui.control = outcomes
        ui.results = results
        ui.departure = departure
        threshold = DEFAULT_LOCK_SHARE_THRESHOLD if report_threshold is None else report_threshold
        ui.report = ReportViews(store, party, clock, threshold=threshold, trust=report_trust)
        mount_ui(app, ui)
    return app
