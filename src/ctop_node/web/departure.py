"""The departure view of the sending node (``/ui/departure``, ``GET /api/v1/departure``):
what was ingested with its outcome (rejected and refused items too, from the ingest log),
the outbox per peer and state with the final failures and their reasons, and the record
versions waiting to be written to smart locks (``lock.pending``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from ctop_node.access.policy import Action, Purpose
from ctop_node.access.sessions import Session
from ctop_node.config import NodeSettings
from ctop_node.lock.pending import PendingLock, pending_locks
from ctop_node.model.outcome import OutcomeKind
from ctop_node.store import SqlStore
from ctop_node.store.timeline import TimelineEvent, recent_ingest
from ctop_node.web.auth import WebAccess

OUTCOMES = tuple(o.value for o in OutcomeKind)
_OUTCOME_PATTERN = "^(|" + "|".join(OUTCOMES) + ")$"


@dataclass
class Departure:
    ingested: list[TimelineEvent]
    ingest_counts: dict[str, int]
    outbox: dict[str, dict[str, int]]  # peer -> state -> entries
    failures: list[dict[str, Any]]
    locks: list[PendingLock]


class DepartureViews:
    def __init__(
        self,
        store: SqlStore,
        clock: Callable[[], datetime],
        # node.json's lock_fallback_after_s when the app is given a config, else its default
        fallback: timedelta = timedelta(
            seconds=NodeSettings.model_fields["lock_fallback_after_s"].default
        ),
    ) -> None:
        self.store = store
        self.clock = clock
        self.fallback = fallback

    def page(self, *, outcome: str = "", limit: int = 100) -> Departure:
        queue = self.store.outbox_queue
        return Departure(
            ingested=recent_ingest(
                self.store.engine, limit=limit, outcomes=(outcome,) if outcome else ()
            ),
            ingest_counts=self.store.ingest_counts(),
            outbox={peer: queue.counts(peer) for peer in queue.peers()},
            failures=queue.rejections(50, states=("rejected", "dead")),
            locks=pending_locks(self.store, now=self.clock(), fallback=self.fallback, limit=limit),
        )


class IngestedOut(BaseModel):
    at: datetime
    outcome: str
    record: str
    version: int | None
    reason: str
    errors: list[dict[str, str]]


class FailureOut(BaseModel):
    record_id: str
    version: int
    peer: str
    state: str
    code: str | None
    message: str | None
    at: datetime | None


class LockOut(BaseModel):
    record_id: str
    version: int
    peer: str
    reason: str
    lock_ids: list[str]
    containers: list[str]


class DepartureOut(BaseModel):
    ingested: list[IngestedOut]
    ingest_counts: dict[str, int]
    outbox: dict[str, dict[str, int]]
    failures: list[FailureOut]
    waiting_for_locks: list[LockOut]


def as_out(d: Departure) -> DepartureOut:
    return DepartureOut(
        ingested=[
            IngestedOut(
                at=e.at,
                outcome=e.kind,
                record=e.detail,
                version=e.version,
                reason=e.peer,
                errors=list(e.errors),
            )
            for e in d.ingested
        ],
        ingest_counts=d.ingest_counts,
        outbox=d.outbox,
        failures=[
            FailureOut(
                record_id=f["record_id"],
                version=f["version"],
                peer=f["peer"],
                state=f["state"],
                code=f["code"],
                message=f["message"],
                at=f["at"],
            )
            for f in d.failures
        ],
        waiting_for_locks=[
            LockOut(
                record_id=p.record_id,
                version=p.version,
                peer=p.peer,
                reason=p.reason,
                lock_ids=list(p.lock_ids),
                containers=list(p.containers),
            )
            for p in d.locks
        ],
    )


def mount_departure(
    app: FastAPI,
    views: DepartureViews,
    access: WebAccess,
    errors: dict[int | str, dict[str, Any]],
) -> None:
    @app.get(
        "/api/v1/departure",
        response_model=DepartureOut,
        responses=errors,
        tags=["departure"],
    )
    def get_departure(
        request: Request,
        outcome: str = Query(default="", pattern=_OUTCOME_PATTERN),
        limit: int = Query(default=100, ge=1, le=1000),
    ) -> DepartureOut:
        access.require(request, Action.READ_RECORDS, Purpose.CUSTOMS_CONTROL)
        return as_out(views.page(outcome=outcome, limit=limit))


def mount_departure_ui(
    app: FastAPI,
    views: DepartureViews,
    guarded: Callable[[Callable[[Request, Session], Response]], Callable[[Request], Response]],
    render: Callable[..., Response],
) -> None:
    def page(request: Request, session: Session) -> Response:
        outcome = request.query_params.get("outcome", "")
        if outcome not in OUTCOMES:
            outcome = ""
        return render(
            request,
            "departure.html",
            session=session,
            d=views.page(outcome=outcome),
            outcome=outcome,
            outcomes=OUTCOMES,
        )

    app.add_api_route("/ui/departure", guarded(page), methods=["GET"], include_in_schema=False)
