"""From a request to a ``Principal``: bearer tokens (the node's internal token or a user's
API token) and session cookies; CSRF tokens; small urlencoded forms.

Every route asks ``WebAccess.require(request, action, purpose)``, which ends in the one access
check of ``ctop_node.access.policy``. Art.6: every read of records and every refusal is an
entry of the audit chain (who, what, when, from where, why); entries name records, routes
and counts, never record content.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import HTTPException, Request

from ctop_node.access.audit_chain import AuditChain
from ctop_node.access.policy import Action, Principal, Purpose, check
from ctop_node.access.sessions import Accounts, Session
from ctop_node.errors import AccessError

SESSION_COOKIE = "ctop_session"
LOGIN_CSRF_COOKIE = "ctop_login_csrf"
MAX_FORM = 16 * 1024  # a login or a search form is a few hundred bytes


def problem(status: int, code: str, message: str) -> HTTPException:
    return HTTPException(status, detail={"code": code, "message": message})


def bearer_of(request: Request) -> str:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


async def read_form(
    request: Request, *, max_bytes: int = MAX_FORM, max_fields: int = 20
) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body of at most ``max_bytes`` bytes."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise problem(415, "web.form.content_type", "a form must be urlencoded")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise problem(413, "web.form.too_large", f"a form over {max_bytes} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise problem(400, "web.form.encoding", "a form must be UTF-8") from exc
    try:
        return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=max_fields))
    except ValueError as exc:  # more fields than allowed
        raise problem(413, "web.form.fields", f"a form with over {max_fields} fields") from exc


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def same_token(given: str, expected: str) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(given, expected)


def channel_of(request: Request) -> str:
    """``api`` for the API and the operator routes, ``ui`` for pages and the login form."""
    return "api" if request.url.path.startswith(("/api/", "/metrics")) else "ui"


def route_of(request: Request) -> str:
    """The route's template (``/api/v1/trains/{train_key}``), else the path."""
    route = request.scope.get("route")
    return str(getattr(route, "path", "") or request.url.path)


@dataclass
class WebAccess:
    accounts: Accounts
    audit: AuditChain | None = None  # None: nothing is audited (the ingest-only app)

    def trail(
        self,
        request: Request,
        actor: str,
        action: str,
        obj: str,
        *,
        purpose: str,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """One audit entry about this request, from ``ui@`` or ``api@`` the client address."""
        if self.audit is None:
            return
        channel = channel_of(request)
        self.audit.record(
            actor,
            action,
            obj,
            purpose=purpose,
            origin=f"{channel}@{client_address(request)}",
            detail={"method": request.method, "route": route_of(request), **(detail or {})},
        )

    def read(
        self,
        request: Request,
        principal: Principal,
        obj: str,
        purpose: Purpose = Purpose.CUSTOMS_CONTROL,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Audit a read of records: ``obj`` names the record (``record:KZ/ID/v2``) or, for
        lists and searches, the path asked for."""
        channel = channel_of(request)
        self.trail(
            request,
            principal.name,
            f"{channel}.read",
            obj,
            purpose=purpose.value,
            detail={"via": principal.via, **(detail or {})},
        )

    def denied(
        self, request: Request, principal: Principal, action: Action, purpose: Purpose
    ) -> None:
        self.trail(
            request,
            principal.name,
            "access.denied",
            request.url.path,
            purpose=purpose.value,
            detail={"via": principal.via, "role": principal.role.value, "asked": action.value},
        )

    def session(self, request: Request) -> Session | None:
        return self.accounts.session(request.cookies.get(SESSION_COOKIE, ""))

    def principal(self, request: Request) -> Principal | None:
        token = bearer_of(request)
        if token:
            return self.accounts.bearer(token)
        if request.method not in ("GET", "HEAD"):
            # A cookie rides along with any cross-site form: API writes need a bearer token
            # (the UI's own forms check their CSRF token instead).
            return None
        session = self.session(request)
        return session.principal if session else None

    def require(
        self, request: Request, action: Action, purpose: Purpose, *, audit_read: bool = True
    ) -> Principal:
        """The caller, allowed ``action`` for ``purpose``; 401 or 403 (JSON) otherwise. A
        refusal is audited, and so is a read of records unless the route audits it itself
        once it knows the record (``audit_read=False``, then ``read(...)``)."""
        principal = self.principal(request)
        if principal is None:
            raise problem(401, "api.unauthorised", "missing or wrong bearer token or session")
        try:
            check(principal, action, purpose)
        except AccessError as exc:
            self.denied(request, principal, action, purpose)
            raise problem(403, exc.code, exc.message) from exc
        if action is Action.READ_RECORDS and audit_read:
            self.read(request, principal, request.url.path, purpose)
        return principal
