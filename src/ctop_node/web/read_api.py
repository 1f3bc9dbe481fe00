"""The read side of the internal API: ``GET /api/v1/records`` and ``/api/v1/records/{id}``.

Callers are users with an API token (``ctop-node user token NAME``) or a session; each call
passes the one access check for ``records.read`` and the purpose given by ``?purpose=``
(default: customs control). Analysts never read records, whatever the purpose.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse

from ctop_node.access.policy import Action, Purpose
from ctop_node.errors import StorageError
from ctop_node.store import SqlStore
from ctop_node.store.interfaces import RecordRow
from ctop_node.web.auth import WebAccess, problem


def _purpose(value: str) -> Purpose:
    try:
        return Purpose(value)
    except ValueError as exc:
        raise problem(
            422, "api.purpose", f"unknown purpose {value!r}; one of {[p.value for p in Purpose]}"
        ) from exc


def _summary(row: RecordRow) -> dict[str, Any]:
    return {
        "record_id": row.record_id,
        "version": row.version,
        "origin_party": row.origin_party,
        "direction": row.direction,
        "digest": row.digest,
        "outcome": row.outcome,
        "created_at": row.created_at.isoformat(),
    }


def mount_read_api(app: FastAPI, store: SqlStore, access: WebAccess, party: str) -> None:
    @app.get("/api/v1/records")
    def list_records(
        request: Request,
        purpose: str = Query(default=Purpose.CUSTOMS_CONTROL.value),
        limit: int = Query(default=100, ge=1, le=1000),
        offset: int = Query(default=0, ge=0, le=10_000_000),
    ) -> JSONResponse:
        access.require(request, Action.READ_RECORDS, _purpose(purpose))
        rows = store.list_records(limit=limit, offset=offset)
        return JSONResponse({"records": [_summary(r) for r in rows]})

    @app.get("/api/v1/records/{record_id:path}")
    def get_record(
        request: Request,
        record_id: str,
        purpose: str = Query(default=Purpose.CUSTOMS_CONTROL.value),
        origin_party: str | None = Query(default=None, max_length=8),
    ) -> JSONResponse:
        access.require(request, Action.READ_RECORDS, _purpose(purpose))
        try:
            row = store.get_record(record_id[:128], origin_party=origin_party)
        except StorageError as exc:
            if exc.code != "store.ambiguous_record":
                raise
            raise problem(400, exc.code, exc.message) from exc
        if row is None:
            raise problem(404, "api.not_found", f"no record {record_id[:128]}")
        out = {**_summary(row), "body": row.body}
        if row.origin_party != party:
            out["use_restriction"] = (
                f"Confidential: provided by {row.origin_party} for customs control only; no "
                "transfer to third parties, publication or use in court without the "
                f"written consent of {row.origin_party}"
            )
        return JSONResponse(out)
