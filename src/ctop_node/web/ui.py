"""The officers' UI on the internal port: login, the arrival view, trains, containers, records.

Server-rendered Jinja2, no JavaScript; the stylesheet is served by the node (no CDN: the
border post has no internet). Every page passes the access check (``WebAccess.require``);
pages with a peer's data carry its use restriction (Art.6) in the reader's language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment
from starlette.concurrency import run_in_threadpool

from ctop_node import i18n
from ctop_node.access.audit_chain import record_object
from ctop_node.access.policy import Action, Principal, Purpose, allowed, check
from ctop_node.access.sessions import Session
from ctop_node.control.arrival import ControlOutcomes, NoControlResults
from ctop_node.errors import AccessError
from ctop_node.model.reference import CROSSING_POINTS
from ctop_node.web import views
from ctop_node.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    WebAccess,
    client_address,
    is_secure,
    new_csrf,
    read_form,
    same_token,
)
from ctop_node.web.control import ControlResults, mount_control_ui
from ctop_node.web.departure import DepartureViews, mount_departure_ui
from ctop_node.web.locale import STATIC_DIR, choose_language, environment
from ctop_node.web.report import ReportViews, mount_report_ui

AUTHENTICATION = "authentication"  # the purpose of login, failed login and logout entries

# No script at all, styles from the node only, no framing: what the pages need and no more.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass
class UiContext:
    access: WebAccess
    queries: views.ArrivalViews
    party: str
    env: Environment = field(default_factory=environment)
    control: ControlOutcomes = field(default_factory=NoControlResults)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    results: ControlResults | None = None  # the control-result form, when mounted
    departure: DepartureViews | None = None
    report: ReportViews | None = None  # the evaluation report's page, when mounted


class _Denied(Exception):
    """Internal control flow: a redirect or a 403 page instead of the page asked for."""

    def __init__(self, response: Response) -> None:
        self.response = response


def mount_ui(app: FastAPI, ui: UiContext) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    def render(
        request: Request,
        name: str,
        *,
        session: Session | None = None,
        status: int = 200,
        **ctx: Any,
    ) -> HTMLResponse:
        lang = i18n.language()
        query_lang = request.query_params.get("lang")
        html = ui.env.get_template(name).render(
            lang=lang,
            keep="?" + urlencode({"lang": lang}) if query_lang else "",
            session=session,
            party=ui.party,
            path=request.url.path,
            can_report=ui.report is not None
            and session is not None
            and allowed(session.principal, Action.READ_STATISTICS, Purpose.RISK_ANALYSIS),
            **ctx,
        )
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def language(request: Request, principal: Principal | None) -> None:
        i18n.set_language(
            choose_language(
                request.query_params.get("lang"),
                principal.language if principal else None,
                request.headers.get("accept-language", ""),
            )
        )

    def admitted(request: Request, action: Action, purpose: Purpose, denied: str = "") -> Session:
        """The session of a user whose role may take ``action`` for ``purpose``, else a
        page (login, or 403; ``denied`` picks its text in denied.html)."""
        session = ui.access.session(request)
        language(request, session.principal if session else None)
        if session is None:
            target = "/login?" + urlencode({"next": str(request.url.path)})
            raise _Denied(RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS))
        try:
            check(session.principal, action, purpose)
        except AccessError:
            ui.access.denied(request, session.principal, action, purpose)
            page = render(request, "denied.html", session=session, status=403, denied=denied)
            raise _Denied(page) from None
        return session

    def officer(request: Request) -> Session:
        """The session of a user who may read records for customs control, else a page."""
        return admitted(request, Action.READ_RECORDS, Purpose.CUSTOMS_CONTROL)

    def analyst(request: Request) -> Session:
        """The session of a user who may read statistics (aggregates), else a page."""
        return admitted(request, Action.READ_STATISTICS, Purpose.RISK_ANALYSIS, "report")

    def guard(
        who: Callable[[Request], Session], *, audit: bool = True
    ) -> Callable[[Callable[[Request, Session], Response]], Callable[[Request], Response]]:
        """Pages for the users ``who`` admits; each view is an audit entry (Art.6), made here
        with the path, or by the page itself once it knows the record (``audit=False``)."""

        def wrap(page: Callable[[Request, Session], Response]) -> Callable[[Request], Response]:
            def handler(request: Request) -> Response:
                try:
                    session = who(request)
                except _Denied as denied:
                    return denied.response
                if audit:
                    ui.access.read(request, session.principal, request.url.path)
                return page(request, session)

            return handler

        return wrap

    guarded = guard(officer)

    # -- login and logout ---------------------------------------------------------------

    def login_page(request: Request, *, error: str = "", status: int = 200) -> HTMLResponse:
        csrf = new_csrf()
        response = render(
            request,
            "login.html",
            csrf=csrf,
            error=error,
            next=_safe_next(request.query_params.get("next", "")),
            status=status,
        )
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            csrf,
            httponly=True,
            samesite="strict",
            secure=is_secure(request),
            path="/login",
        )
        return response

    @app.get("/login", include_in_schema=False)
    def get_login(request: Request) -> Response:
        language(request, None)
        return login_page(request)

    @app.post("/login", include_in_schema=False)
    async def post_login(request: Request) -> Response:
        language(request, None)
        form = await read_form(request)
        if not same_token(form.get("csrf", ""), request.cookies.get(LOGIN_CSRF_COOKIE, "")):
            msg = i18n._("The form has expired; log in again")
            return login_page(request, error=msg, status=403)
        try:
            session = await run_in_threadpool(
                ui.access.accounts.login,
                form.get("username", "")[:64],
                form.get("password", "")[:1024],
                client_address(request),
            )
        except AccessError as exc:
            name = form.get("username", "")[:64]
            throttled = exc.code == "access.throttled"
            await run_in_threadpool(
                ui.access.trail,
                request,
                name,
                "login.throttled" if throttled else "login.failed",
                f"user:{name}",
                purpose=AUTHENTICATION,
            )
            if throttled:
                msg = i18n._("Too many failed logins; wait a few minutes and try again")
                return login_page(request, error=msg, status=429)
            return login_page(request, error=i18n._("Wrong user name or password"), status=401)
        await run_in_threadpool(
            ui.access.trail,
            request,
            session.principal.name,
            "login",
            f"user:{session.principal.name}",
            purpose=AUTHENTICATION,
            detail={"role": session.principal.role.value},
        )
        target = _safe_next(form.get("next", "")) or "/ui/"
        response = RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
        response.set_cookie(
            SESSION_COOKIE,
            session.cookie,
            httponly=True,
            samesite="strict",
            secure=is_secure(request),
            path="/",
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return response

    @app.post("/logout", include_in_schema=False)
    async def post_logout(request: Request) -> Response:
        form = await read_form(request)
        session = await run_in_threadpool(ui.access.session, request)
        if session is not None:
            if not same_token(form.get("csrf", ""), session.csrf):
                raise HTTPException(403, detail={"code": "web.csrf", "message": "bad form token"})
            await run_in_threadpool(ui.access.accounts.logout, session.cookie)
            await run_in_threadpool(
                ui.access.trail,
                request,
                session.principal.name,
                "logout",
                f"user:{session.principal.name}",
                purpose=AUTHENTICATION,
            )
        response = RedirectResponse("/login", status_code=303, headers=SECURITY_HEADERS)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.post("/ui/language", include_in_schema=False)
    async def post_language(request: Request) -> Response:
        form = await read_form(request)
        session = await run_in_threadpool(ui.access.session, request)
        if session is None or not same_token(form.get("csrf", ""), session.csrf):
            raise HTTPException(403, detail={"code": "web.csrf", "message": "bad form token"})
        lang = form.get("lang", "")
        if lang in i18n.LANGUAGES:
            await run_in_threadpool(
                ui.access.accounts.users.set_language, session.principal.name, lang
            )
        target = _safe_next(form.get("next", "")) or "/ui/"
        return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)

    # -- pages --------------------------------------------------------------------------

    def arrival(request: Request, session: Session) -> Response:
        days = request.query_params.get("days", "")
        since = ui.clock() - timedelta(
            days=int(days) if days.isdigit() and int(days) < 3660 else 30
        )
        groups = ui.queries.trains_by_crossing(since, ui.control)
        return render(
            request,
            "arrival.html",
            session=session,
            groups=groups,
            crossing_points=CROSSING_POINTS,
            peer=any(t.origin_party != ui.party for g in groups for t in g.trains),
        )

    def search(request: Request, session: Session) -> Response:
        q = request.query_params.get("q", "")[:128]
        hits = ui.queries.search(q) if q.strip() else []
        return render(
            request,
            "search.html",
            session=session,
            q=q,
            hits=hits,
            peer=any(h.record.origin_party != ui.party for h in hits),
        )

    def train(request: Request, session: Session) -> Response:
        key = request.path_params["key"]
        page = ui.queries.train(key, ui.control)
        if page is None:
            return render(request, "missing.html", session=session, status=404, what=key)
        return render(
            request,
            "train.html",
            session=session,
            t=page,
            peer=page.origin_party != ui.party,
        )

    def container(request: Request, session: Session) -> Response:
        number = request.path_params["number"]
        found = ui.queries.container(number)
        if not found:
            return render(request, "missing.html", session=session, status=404, what=number)
        return render(
            request,
            "container.html",
            session=session,
            number=number,
            found=found,
            peer=any(c.origin_party != ui.party for c in found),
        )

    def record(request: Request, session: Session) -> Response:
        origin, rid = request.path_params["origin"], request.path_params["record_id"]
        page = ui.queries.record(origin, rid, ui.control)
        if page is None:
            return render(request, "missing.html", session=session, status=404, what=rid)
        rec = page.record
        ui.access.read(
            request, session.principal, record_object(rec.origin_party, rec.record_id, rec.version)
        )
        return render(
            request,
            "record.html",
            session=session,
            r=page,
            peer=origin != ui.party,
            can_control=origin != ui.party
            and ui.results is not None
            and allowed(session.principal, Action.RECORD_CONTROL, Purpose.CUSTOMS_CONTROL),
        )

    app.add_api_route("/ui/", guarded(arrival), methods=["GET"], include_in_schema=False)
    app.add_api_route("/ui/search", guarded(search), methods=["GET"], include_in_schema=False)
    app.add_api_route("/ui/trains/{key}", guarded(train), methods=["GET"], include_in_schema=False)
    app.add_api_route(
        "/ui/containers/{number}", guarded(container), methods=["GET"], include_in_schema=False
    )
    app.add_api_route(
        "/ui/records/{origin}/{record_id:path}",
        guard(officer, audit=False)(record),
        methods=["GET"],
        include_in_schema=False,
    )

    if ui.results is not None:
        mount_control_ui(app, ui.results, render, officer, _Denied, ui.access)
    if ui.departure is not None:
        mount_departure_ui(app, ui.departure, guarded, render)
    if ui.report is not None:
        # Its charts are data: images; nothing else of the policy changes.
        csp = SECURITY_HEADERS["Content-Security-Policy"].replace(
            "img-src 'self'", "img-src 'self' data:"
        )
        mount_report_ui(app, ui.report, guard(analyst), render, csp)

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse("/ui/", status_code=303)


def _safe_next(target: str) -> str:
    """Only a path on this node: never an open redirect to another site."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return quote(target, safe="/?=&-_.~%")
    return ""
