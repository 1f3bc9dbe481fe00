"""The read side of the internal API: records (a cursor-paginated feed, one record), trains,
container search; every answer is a declared model, every error a JSON ``{detail: {code,
message}}`` (see ``ErrorBody``).

Callers are users with an API token (``ctop-node user token NAME``) or a session; each call
passes the one access check for ``records.read`` and the purpose given by ``?purpose=``
(default: customs control). Analysts never read records, whatever the purpose.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel

from ctop_node.access.audit_chain import record_object
from ctop_node.access.policy import Action, Purpose
from ctop_node.control.arrival import ControlOutcomes, NoControlResults
from ctop_node.errors import StorageError
from ctop_node.store import SqlStore
from ctop_node.store.feed import record_feed
from ctop_node.store.interfaces import RecordRow
from ctop_node.web.auth import WebAccess, problem
from ctop_node.web.control import ERRORS
from ctop_node.web.csv_export import to_csv
from ctop_node.web.views import ArrivalViews


class RecordSummary(BaseModel):
    record_id: str
    version: int
    origin_party: str
    direction: str
    digest: str
    outcome: str
    created_at: datetime
    cursor: str | None = None


class RecordList(BaseModel):
    records: list[RecordSummary]
    next_cursor: str | None  # give it as ``after`` to get the next page; None: no more now


class RecordOut(RecordSummary):
    body: dict[str, Any]
    use_restriction: str | None = None


class TrainOut(BaseModel):
    train_key: str
    origin_party: str
    train_number: str
    crossing_point: str
    planned_crossing_at: datetime
    records: int
    containers: int
    wagons: int
    status: str


class TrainList(BaseModel):
    trains: list[TrainOut]


class TrainRecord(BaseModel):
    record_id: str
    origin_party: str
    version: int
    status: str
    verdict: str | None


class ContainerOut(BaseModel):
    number: str
    origin_party: str
    record_id: str
    wagon_number: str
    size_type: str
    gross_mass_kg: str
    seals: list[str]
    smart_lock_id: str | None
    train_key: str
    train_number: str


class TrainDetail(TrainOut):
    record_list: list[TrainRecord]
    containers_list: list[ContainerOut]


class SearchHitOut(BaseModel):
    kind: str
    value: str
    record_id: str
    origin_party: str
    train_key: str


class SearchResult(BaseModel):
    hits: list[SearchHitOut]


class ContainerResult(BaseModel):
    containers: list[ContainerOut]


def _summary(row: RecordRow, cursor: int | None = None) -> RecordSummary:
    return RecordSummary(
        record_id=row.record_id,
        version=row.version,
        origin_party=row.origin_party,
        direction=row.direction,
        digest=row.digest,
        outcome=row.outcome,
        created_at=row.created_at,
        cursor=str(cursor) if cursor is not None else None,
    )


def _cursor(value: str) -> int:
    if not value:
        return 0
    if not value.isdigit() or len(value) > 18:
        raise problem(400, "api.cursor", f"bad cursor {value[:40]!r}: give a next_cursor back")
    return int(value)


def restriction(origin: str) -> str:
    return (
        f"Confidential: provided by {origin} for customs control only; no "
        "transfer to third parties, publication or use in court without the "
        f"written consent of {origin}"
    )


def mount_read_api(
    app: FastAPI,
    store: SqlStore,
    access: WebAccess,
    party: str,
    views: ArrivalViews | None = None,
    control: ControlOutcomes | None = None,
) -> None:
    arrival = views or ArrivalViews(store)
    outcomes: ControlOutcomes = control or NoControlResults()

    @app.get("/api/v1/records", response_model=RecordList, responses=ERRORS, tags=["records"])
    def list_records(
        request: Request,
        purpose: Purpose = Query(default=Purpose.CUSTOMS_CONTROL),
        limit: int = Query(default=100, ge=1, le=1000),
        after: str = Query(default="", pattern="^[0-9]{0,18}$", description="a next_cursor"),
        since: AwareDatetime | None = Query(default=None, description="stored at or after"),
        origin_party: str | None = Query(default=None, max_length=8),
        direction: Literal["in", "out"] | None = Query(default=None),
    ) -> RecordList:
        access.require(request, Action.READ_RECORDS, purpose)
        rows = record_feed(
            store.engine,
            after=_cursor(after),
            since=since,
            origin_party=origin_party,
            direction=direction,
            limit=limit,
        )
        nxt = str(rows[-1][0]) if rows else (after or None)
        return RecordList(records=[_summary(r, pk) for pk, r in rows], next_cursor=nxt)

    @app.get("/api/v1/trains", response_model=TrainList, responses=ERRORS, tags=["trains"])
    def list_trains(
        request: Request,
        days: int = Query(default=30, ge=0, le=3660, description="planned from N days ago on"),
    ) -> TrainList:
        access.require(request, Action.READ_RECORDS, Purpose.CUSTOMS_CONTROL)
        since = datetime.now(UTC) - timedelta(days=days)
        groups = arrival.trains_by_crossing(since, outcomes)
        return TrainList(
            trains=[
                TrainOut(
                    train_key=t.summary.train_key,
                    origin_party=t.summary.origin_party,
                    train_number=t.summary.train_number,
                    crossing_point=t.summary.crossing_point,
                    planned_crossing_at=t.summary.planned_crossing_at,
                    records=t.summary.records,
                    containers=t.summary.containers,
                    wagons=t.summary.wagons,
                    status=t.status.value,
                )
                for g in groups
                for t in g.trains
            ]
        )

    @app.get(
        "/api/v1/trains/{train_key}", response_model=TrainDetail, responses=ERRORS, tags=["trains"]
    )
    def get_train(request: Request, train_key: str) -> TrainDetail:
        access.require(request, Action.READ_RECORDS, Purpose.CUSTOMS_CONTROL)
        page = arrival.train(train_key[:200], outcomes)
        if page is None:
            raise problem(404, "api.not_found", f"no train {train_key[:200]}")
        containers = [c for w in page.wagons for c in w.containers]
        return TrainDetail(
            train_key=page.key,
            origin_party=page.origin_party,
            train_number=page.number,
            crossing_point=page.crossing_point,
            planned_crossing_at=page.planned_crossing_at,
            records=len(page.records),
            containers=len(containers),
            wagons=len(page.wagons),
            status=page.status.value,
            record_list=[
                TrainRecord(
                    record_id=line.record.record_id,
                    origin_party=line.record.origin_party,
                    version=line.record.version,
                    status=line.status.value,
                    verdict=line.verdict,
                )
                for line in page.records
            ],
            containers_list=[_container(c, page.key, page.number) for c in containers],
        )

    @app.get(
        "/api/v1/trains/{train_key}/containers.csv",
        response_class=CsvResponse,
        responses={
            **{
                k: {**v, "content": {"application/json": {"schema": _ERROR_REF}}}
                for k, v in ERRORS.items()
            },
            200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
        },
        tags=["trains"],
    )
    def train_csv(request: Request, train_key: str) -> Response:
        access.require(request, Action.READ_RECORDS, Purpose.CUSTOMS_CONTROL)
        page = arrival.train(train_key[:200], outcomes)
        if page is None:
            raise problem(404, "api.not_found", f"no train {train_key[:200]}")
        text = to_csv(
            CSV_HEADER,
            (
                (
                    c.number,
                    c.wagon_number,
                    c.size_type,
                    c.gross_mass_kg,
                    " ".join(c.seals),
                    c.smart_lock_id or "",
                    c.origin_party,
                    c.record_id,
                    c.status.value,
                )
                for w in page.wagons
                for c in w.containers
            ),
        )
        name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in page.key)
        return CsvResponse(
            text,
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )

    @app.get("/api/v1/search", response_model=SearchResult, responses=ERRORS, tags=["search"])
    def search(request: Request, q: str = Query(min_length=1, max_length=128)) -> SearchResult:
        access.require(request, Action.READ_RECORDS, Purpose.CUSTOMS_CONTROL)
        return SearchResult(
            hits=[
                SearchHitOut(
                    kind=h.kind,
                    value=h.value,
                    record_id=h.record.record_id,
                    origin_party=h.record.origin_party,
                    train_key=h.record.train_key,
                )
                for h in arrival.search(q)
            ]
        )

    @app.get(
        "/api/v1/containers/{number}",
        response_model=ContainerResult,
        responses=ERRORS,
        tags=["search"],
    )
    def get_container(request: Request, number: str) -> ContainerResult:
        access.require(request, Action.READ_RECORDS, Purpose.CUSTOMS_CONTROL)
        found = arrival.container(number[:64])
        if not found:
            raise problem(404, "api.not_found", f"no container {number[:64]}")
        return ContainerResult(
            containers=[_container(c, c.train_key, c.train_number) for c in found]
        )

    @app.get(
        "/api/v1/records/{record_id:path}",
        response_model=RecordOut,
        responses=ERRORS,
        tags=["records"],
    )
    def get_record(
        request: Request,
        record_id: str,
        purpose: Purpose = Query(default=Purpose.CUSTOMS_CONTROL),
        origin_party: str | None = Query(default=None, max_length=8),
    ) -> RecordOut:
        who = access.require(request, Action.READ_RECORDS, purpose, audit_read=False)
        try:
            row = store.get_record(record_id[:128], origin_party=origin_party)
        except StorageError as exc:
            if exc.code != "store.ambiguous_record":
                raise
            raise problem(400, exc.code, exc.message) from exc
        if row is None:
            raise problem(404, "api.not_found", f"no record {record_id[:128]}")
        access.read(
            request, who, record_object(row.origin_party, row.record_id, row.version), purpose
        )
        return RecordOut(
            **_summary(row).model_dump(),
            body=row.body,
            use_restriction=restriction(row.origin_party) if row.origin_party != party else None,
        )


class CsvResponse(Response):
    media_type = "text/csv"


_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}

CSV_HEADER = (
    "container",
    "wagon",
    "size_type",
    "gross_mass_kg",
    "seals",
    "smart_lock_id",
    "origin_party",
    "record_id",
    "status",
)


def _container(c: Any, key: str, number: str) -> ContainerOut:
    return ContainerOut(
        number=c.number,
        origin_party=c.origin_party,
        record_id=c.record_id,
        wagon_number=c.wagon_number,
        size_type=c.size_type,
        gross_mass_kg=c.gross_mass_kg,
        seals=list(c.seals),
        smart_lock_id=c.smart_lock_id,
        train_key=key,
        train_number=number,
    )
