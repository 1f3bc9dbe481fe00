"""Control results on the internal port: the arrival officer's form (``/ui/control/...``,
CSRF-protected, plain HTML, keyboard usable) and the API
(``POST|GET /api/v1/records/{record_id}/control-results``, ``GET /api/v1/control-results``).

A result is about the latest version of a record of the other Party; it is stored and sent
back to that Party as a signed CONTROL_RESULT (``online.control_sender``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from ctop_node import i18n
from ctop_node.access.audit_chain import record_object
from ctop_node.access.policy import Action, Purpose, check
from ctop_node.access.sessions import Session
from ctop_node.control.results import DECISIONS, SEAL_STATUSES, build_result
from ctop_node.errors import AccessError, StorageError
from ctop_node.model.messages import ContainerFound, ControlResult
from ctop_node.store import SqlStore
from ctop_node.store.control import ControlRow, ControlStore
from ctop_node.store.interfaces import RecordRow
from ctop_node.web.auth import WebAccess, problem, read_form, same_token
from ctop_node.web.views import ArrivalViews

Decision = Literal["released", "held", "further_control"]
SealStatus = Literal["intact", "broken", "missing", "not_checked"]


class ControlResultIn(BaseModel):
    """What an arrival officer (or the customs system, with a ``control`` token) records."""

    model_config = ConfigDict(extra="forbid")

    origin_party: str | None = Field(default=None, max_length=8)
    decision: Decision
    seal_status: SealStatus = "not_checked"
    arrived_at: AwareDatetime | None = None
    findings: str | None = Field(default=None, max_length=512)
    missing_goods: list[str] = Field(default_factory=list, max_length=100)
    containers: list[ContainerFound] = Field(default_factory=list, max_length=500)
    office: str = Field(pattern=r"^[A-Z0-9][A-Z0-9_\-/.]{0,63}$")


class ControlResultOut(BaseModel):
    id: int
    direction: Literal["out", "in"]
    origin_party: str
    record_id: str
    version: int
    peer_party: str
    decision: str | None
    state: str
    recorded_by: str | None
    recorded_at: datetime
    delivered_at: datetime | None
    last_error: str | None
    result: ControlResult


class DiscrepancyOut(BaseModel):
    code: str
    field: str
    expected: str
    found: str
    source: str
    container: str | None


class DiscrepancyList(BaseModel):
    origin_party: str
    record_id: str
    version: int
    discrepancies: list[DiscrepancyOut]


class ControlResultList(BaseModel):
    control_results: list[ControlResultOut]
    next_after: int | None


def out_of(row: ControlRow) -> ControlResultOut:
    return ControlResultOut(
        id=row.id,
        direction="out" if row.direction == "out" else "in",
        origin_party=row.origin_party,
        record_id=row.record_id,
        version=row.version,
        peer_party=row.peer_party,
        decision=row.decision,
        state=row.state,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
        delivered_at=row.delivered_at,
        last_error=row.last_error,
        result=row.result,
    )


def _field_of(exc: ValidationError) -> tuple[str, str]:
    first = exc.errors()[0]
    return ".".join(str(p) for p in first["loc"]) or "$", str(first["msg"])


class ControlResults:
    """Recording a control result: shared by the form and the API."""

    def __init__(
        self,
        store: SqlStore,
        party: str,
        clock: Callable[[], datetime],
        views: ArrivalViews | None = None,
    ) -> None:
        self.store = store
        self.views = views or ArrivalViews(store)
        self.results = ControlStore(store.engine)
        self.party = party
        self.clock = clock

    def target(self, record_id: str, origin_party: str | None) -> RecordRow:
        try:
            row = self.store.get_record(record_id[:128], origin_party=origin_party)
        except StorageError as exc:
            if exc.code != "store.ambiguous_record":
                raise
            raise problem(400, exc.code, exc.message) from exc
        if row is None:
            raise problem(404, "api.not_found", f"no record {record_id[:128]}")
        if row.origin_party == self.party:
            raise problem(
                422,
                "control.own_record",
                f"record {row.record_id} is ours: control results are recorded by the "
                "receiving Party about the other Party's records",
            )
        return row

    def record(self, row: RecordRow, given: ControlResultIn, user: str) -> ControlRow:
        try:
            result = build_result(
                record_id=row.record_id,
                version=row.version,
                office=given.office,
                country=self.party,
                arrived_at=given.arrived_at,
                seal_status=given.seal_status,
                findings=given.findings,
                decision=given.decision,
                missing_goods=given.missing_goods,
                containers=given.containers,
            )
        except ValidationError as exc:
            field, msg = _field_of(exc)
            raise problem(
                422, "control.invalid", f"record {row.record_id}: {field}: {msg}"
            ) from exc
        pk = self.results.record(
            result, origin_party=row.origin_party, recorded_by=user, now=self.clock()
        )
        found = self.results.get(pk)
        assert found is not None
        return found


class ErrorDetail(BaseModel):
    code: str
    message: str
    errors: list[dict[str, Any]] | None = None  # each invalid field (422)


class ErrorBody(BaseModel):
    detail: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": what}
    for code, what in (
        (400, "Bad request"),
        (401, "No or wrong bearer token"),
        (403, "Not allowed for this role, scope or purpose"),
        (404, "No such record"),
        (422, "A field is not valid"),
        (413, "The request body is too large"),
        (415, "Unsupported content type"),
    )
}


def mount_control_api(app: FastAPI, control: ControlResults, access: WebAccess) -> None:
    """The API routes; mounted before ``GET /api/v1/records/{record_id:path}``."""
    errors = ERRORS

    @app.post(
        "/api/v1/records/{record_id}/control-results",
        status_code=201,
        response_model=ControlResultOut,
        responses=errors,
        tags=["control results"],
    )
    def post_control_result(
        request: Request, record_id: str, body: ControlResultIn
    ) -> ControlResultOut:
        who = access.require(request, Action.RECORD_CONTROL, Purpose.CUSTOMS_CONTROL)
        row = control.target(record_id, body.origin_party)
        done = control.record(row, body, who.name)
        access.trail(
            request,
            who.name,
            "control.record",
            record_object(row.origin_party, row.record_id, row.version),
            purpose=Purpose.CUSTOMS_CONTROL.value,
            detail={"via": who.via, "control_result": done.id},
        )
        return out_of(done)

    @app.get(
        "/api/v1/records/{record_id}/control-results",
        response_model=ControlResultList,
        responses=errors,
        tags=["control results"],
    )
    def get_record_control_results(
        request: Request,
        record_id: str,
        origin_party: str | None = Query(default=None, max_length=8),
    ) -> ControlResultList:
        who = access.require(
            request, Action.READ_RECORDS, Purpose.CUSTOMS_CONTROL, audit_read=False
        )
        row = _record(control, record_id, origin_party)
        access.read(request, who, record_object(row.origin_party, row.record_id, row.version))
        rows = control.results.for_record(row.origin_party, row.record_id)
        return ControlResultList(control_results=[out_of(r) for r in rows], next_after=None)

    @app.get(
        "/api/v1/records/{record_id}/discrepancies",
        response_model=DiscrepancyList,
        responses=errors,
        tags=["discrepancies"],
    )
    def get_discrepancies(
        request: Request,
        record_id: str,
        origin_party: str | None = Query(default=None, max_length=8),
    ) -> DiscrepancyList:
        who = access.require(
            request, Action.READ_RECORDS, Purpose.CUSTOMS_CONTROL, audit_read=False
        )
        row = _record(control, record_id, origin_party)
        access.read(request, who, record_object(row.origin_party, row.record_id, row.version))
        found = control.views.record_discrepancies(row.origin_party, row.record_id) or []
        return DiscrepancyList(
            origin_party=row.origin_party,
            record_id=row.record_id,
            version=row.version,
            discrepancies=[
                DiscrepancyOut(
                    code=f.code,
                    field=f.field,
                    expected=f.expected,
                    found=f.found,
                    source=f.source,
                    container=f.container,
                )
                for f in found
            ],
        )

    @app.get(
        "/api/v1/control-results",
        response_model=ControlResultList,
        responses=errors,
        tags=["control results"],
    )
    def list_control_results(
        request: Request,
        after: int = Query(default=0, ge=0, le=2**62),
        limit: int = Query(default=100, ge=1, le=1000),
        direction: Literal["out", "in"] | None = Query(default=None),
    ) -> ControlResultList:
        access.require(request, Action.READ_RECORDS, Purpose.CUSTOMS_CONTROL)
        rows = control.results.listed(direction=direction, after=after, limit=limit)
        nxt = rows[-1].id if len(rows) == limit else None
        return ControlResultList(control_results=[out_of(r) for r in rows], next_after=nxt)


def _record(control: ControlResults, record_id: str, origin_party: str | None) -> RecordRow:
    try:
        row = control.store.get_record(record_id[:128], origin_party=origin_party)
    except StorageError as exc:
        if exc.code != "store.ambiguous_record":
            raise
        raise problem(400, exc.code, exc.message) from exc
    if row is None:
        raise problem(404, "api.not_found", f"no record {record_id[:128]}")
    return row


# -- the officer's form -------------------------------------------------------------------

Render = Callable[..., Response]


def _form_input(form: dict[str, str]) -> ControlResultIn:
    arrived = form.get("arrived_at", "").strip()
    missing = [m.strip() for m in form.get("missing_goods", "").split(",") if m.strip()]
    data: dict[str, Any] = {
        "decision": form.get("decision", ""),
        "seal_status": form.get("seal_status", "not_checked"),
        "findings": form.get("findings", "").strip() or None,
        "missing_goods": missing,
        "office": form.get("office", "").strip().upper(),
    }
    found: list[dict[str, Any]] = []
    for i in range(500):
        number = form.get(f"number_{i}")
        if number is None:
            break
        mass = form.get(f"mass_{i}", "").strip().replace(",", ".")
        seals = [x.strip() for x in form.get(f"seals_{i}", "").split(",") if x.strip()]
        lock = form.get(f"lock_{i}", "").strip()
        if mass or seals or lock:
            found.append(
                {
                    "number": number,
                    "gross_mass_kg": mass or None,
                    "seals": seals,
                    "smart_lock_id": lock or None,
                }
            )
    for other in form.get("other_containers", "").split(","):
        if other.strip():
            found.append({"number": other.strip().upper()})
    data["containers"] = found
    if arrived:
        # <input type="datetime-local"> sends no offset: the UI shows and takes UTC.
        data["arrived_at"] = arrived + ("" if arrived.endswith("Z") else "+00:00")
    return ControlResultIn.model_validate(data)


def mount_control_ui(
    app: FastAPI,
    control: ControlResults,
    render: Render,
    officer: Callable[[Request], Session],
    denied: type[Exception],
    access: WebAccess | None = None,
) -> None:
    def page(
        request: Request, session: Session, row: RecordRow, *, error: str = "", status: int = 200
    ) -> Response:
        return render(
            request,
            "control.html",
            session=session,
            rec=row,
            decisions=DECISIONS,
            seal_statuses=SEAL_STATUSES,
            office=request.query_params.get("office", ""),
            now=control.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M"),
            error=error,
            status=status,
            peer=True,
        )

    def allowed(request: Request) -> tuple[Session, RecordRow] | Response:
        try:
            session = officer(request)
        except denied as exc:
            return exc.response  # type: ignore[attr-defined,no-any-return]
        try:
            check(session.principal, Action.RECORD_CONTROL, Purpose.CUSTOMS_CONTROL)
        except AccessError:
            if access is not None:
                access.denied(
                    request, session.principal, Action.RECORD_CONTROL, Purpose.CUSTOMS_CONTROL
                )
            return render(request, "denied.html", session=session, status=403)
        origin, rid = request.path_params["origin"], request.path_params["record_id"]
        row = control.store.get_record(rid[:128], origin_party=origin[:8])
        if row is None or row.origin_party == control.party:
            return render(request, "missing.html", session=session, status=404, what=rid[:128])
        if access is not None and request.method == "GET":  # the form shows the record
            access.read(
                request,
                session.principal,
                record_object(row.origin_party, row.record_id, row.version),
            )
        return session, row

    def get_form(request: Request) -> Response:
        found = allowed(request)
        if isinstance(found, Response):
            return found
        return page(request, *found)

    async def post_form(request: Request) -> Response:
        # One line of four fields per container of the record (at most 500).
        form = await read_form(request, max_bytes=256 * 1024, max_fields=2100)
        found = await run_in_threadpool(allowed, request)
        if isinstance(found, Response):
            return found
        session, row = found
        if not same_token(form.get("csrf", ""), session.csrf):
            msg = i18n._("The form has expired; open the control-result form again")
            return page(request, session, row, error=msg, status=403)
        try:
            given = _form_input(form)
        except ValidationError as exc:
            field, msg = _field_of(exc)
            return page(request, session, row, error=f"{field}: {msg}", status=422)
        done = await run_in_threadpool(control.record, row, given, session.principal.name)
        if access is not None:
            await run_in_threadpool(
                access.trail,
                request,
                session.principal.name,
                "control.record",
                record_object(row.origin_party, row.record_id, row.version),
                purpose=Purpose.CUSTOMS_CONTROL.value,
                detail={"via": "session", "control_result": done.id},
            )
        target = f"/ui/records/{row.origin_party}/{row.record_id}"
        return RedirectResponse(target, status_code=303)

    path = "/ui/control/{origin}/{record_id:path}"
    app.add_api_route(path, get_form, methods=["GET"], include_in_schema=False)
    app.add_api_route(path, post_form, methods=["POST"], include_in_schema=False)
