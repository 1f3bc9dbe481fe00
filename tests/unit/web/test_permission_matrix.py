"""The permission matrix, exhaustively through the internal port (Art.6): every route the app
serves (walked from the app itself, so a new route without an entry in
``ctop_node.access.policy.ROUTES`` fails here) x every caller (each user role, the node's own
token, nobody), on both databases.

Allowed calls answer 2xx (a form 303 to its record); the rest 403, or 401 / a redirect to the
login form without credentials, and such an answer holds nothing of the peer's record. Every
read of records and every refusal is an entry of the audit chain, which still verifies.
docs/ui.md's table is generated from the same ``ROUTES``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Mount

from ctop_node.access.audit_verify import verify_chain
from ctop_node.access.policy import (
    CALLERS,
    NO_CALLER,
    ROUTES,
    SYSTEM_CALLER,
    USER_ROLES,
    Action,
    RouteRule,
    caller_principal,
    expected,
    is_page,
    matrix_markdown,
)
from ctop_node.access.sessions import Accounts
from ctop_node.ingest.pipeline import Classifier, IngestPipeline
from ctop_node.rules import NodePolicy
from ctop_node.store import SqlStore
from ctop_node.store.audit import AuditLog
from ctop_node.store.users import UserStore
from ctop_node.web.api import api_app
from ctop_node.web.health import add_node_probes
from tests.unit.store._entries import entry
from tests.unit.web._ui import CHEAP_HASHER, PASSWORD, SYSTEM_TOKEN, Clock, receive

pytestmark = pytest.mark.anyio

DOCS = Path(__file__).parents[3] / "docs" / "ui.md"
BEGIN, END = "<!-- permission-matrix:begin -->", "<!-- permission-matrix:end -->"
OWN_ID = "CN-OWN-0001"  # one of our records, for the cancel route


def distinctive(record: dict[str, Any]) -> set[str]:
    """Values of the peer's record that no refusal may carry."""
    c = record["containers"][0]
    return {
        c["number"],
        c["seals"][0],
        c["smart_lock_id"],
        record["consignee"]["name"],
        record["consignee"]["national_id"],
        record["declaration"]["number"],
        record["transport_document"]["number"],
        record["goods"][0]["description"],
    }


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    found = set()
    for route in app.routes:
        if isinstance(route, Mount):
            found.add(("GET", route.path))
            continue
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                found.add((method, getattr(route, "path", "")))
    return found


@dataclass
class Matrix:
    app: FastAPI
    store: SqlStore
    clients: dict[str, httpx.AsyncClient]  # caller -> client (session cookie for users)
    tokens: dict[str, str]  # caller -> bearer token for API routes
    record: dict[str, Any]
    train_key: str


@pytest.fixture
async def matrix(
    store: SqlStore, record_dict: dict[str, Any], tmp_path: Path
) -> AsyncIterator[Matrix]:
    clock = Clock()
    receive(store, copy.deepcopy(record_dict))
    own = copy.deepcopy(record_dict)
    own["record_id"] = OWN_ID
    store.write_batch([entry(own)], origin_party="CN")
    app = api_app(
        IngestPipeline(store, Classifier(NodePolicy("CN"))), SYSTEM_TOKEN, party="CN", clock=clock
    )
    add_node_probes(
        app,
        token=SYSTEM_TOKEN,
        store=store,
        home=tmp_path,
        party="CN",
        peers=["KZ"],
        sender_alive=lambda: True,
        clock=clock,
    )
    accounts = Accounts(UserStore(store.engine), clock=clock, hasher=CHEAP_HASHER)
    clients: dict[str, httpx.AsyncClient] = {}
    tokens: dict[str, str] = {SYSTEM_CALLER: SYSTEM_TOKEN}
    for caller in CALLERS:
        clients[caller] = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://node"
        )
        if caller in USER_ROLES:  # each user is named after its role
            accounts.add_user(caller, caller, PASSWORD)
            tokens[caller] = accounts.issue_token(caller, scope="control")
            page = await clients[caller].get("/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert csrf is not None
            done = await clients[caller].post(
                "/login", data={"username": caller, "password": PASSWORD, "csrf": csrf[1]}
            )
            assert done.status_code == 303, done.text
    yield Matrix(app, store, clients, tokens, record_dict, "KZ-1001-20261126")
    for client in clients.values():
        await client.aclose()


def target(m: Matrix, method: str, template: str) -> tuple[str, dict[str, Any]]:
    """A valid request for the route: the path with the seeded record's keys, and the body."""
    rid = m.record["record_id"]
    path = (
        template.replace("{record_id}/cancel", f"{OWN_ID}/cancel")
        .replace("{record_id:path}", rid)
        .replace("{record_id}", rid)
        .replace("{origin}", "KZ")
        .replace("{train_key}", m.train_key)
        .replace("{key}", m.train_key)
        .replace("{number}", m.record["containers"][0]["number"])
    )
    if template == "/static":
        path = "/static/ui.css"
    if template.endswith("/search"):
        path += "?q=CSQU"
    kw: dict[str, Any] = {}
    if (method, template) == ("POST", "/api/v1/records"):
        fresh = copy.deepcopy(m.record)
        fresh["record_id"] = "CN-POSTED-1"
        kw = {"content": json.dumps(fresh), "headers": {"Content-Type": "application/json"}}
    elif template.endswith("/cancel"):
        kw = {"json": {"reason": "annulled"}}
    elif (method, template) == ("POST", "/api/v1/records/{record_id}/control-results"):
        kw = {"json": {"decision": "released", "office": "CN-ALASHANKOU", "origin_party": "KZ"}}
    elif method == "POST":
        kw = {"data": {"decision": "released", "office": "CN-ALASHANKOU", "csrf": "none"}}
    return path, kw


async def call(m: Matrix, caller: str, method: str, template: str) -> httpx.Response:
    client = m.clients[caller]
    path, kw = target(m, method, template)
    headers = dict(kw.pop("headers", {}))
    if caller != NO_CALLER and not is_page(path) and caller in m.tokens:
        headers["Authorization"] = f"Bearer {m.tokens[caller]}"
    elif caller == SYSTEM_CALLER:  # the node's token on a page: pages know sessions only
        headers["Authorization"] = f"Bearer {SYSTEM_TOKEN}"
    if method == "POST" and template.startswith("/ui/control/") and "data" in kw:
        form = await client.get(path)  # the form's token, for those allowed to see the form
        found = re.search(r'name="csrf" value="([^"]+)"', form.text)
        kw["data"]["csrf"] = found[1] if found else "none"
    if caller != NO_CALLER and caller != SYSTEM_CALLER and not is_page(path):
        client = httpx.AsyncClient(  # the API by token alone, without the session cookie
            transport=httpx.ASGITransport(app=m.app), base_url="http://node"
        )
        async with client:
            return await client.request(method, path, headers=headers, **kw)
    return await client.request(method, path, headers=headers, **kw)


def sent_by_caller(m: Matrix, method: str, template: str) -> str:
    path, kw = target(m, method, template)
    return path + json.dumps(kw, default=str)


def leaked(m: Matrix, r: httpx.Response, sent: str) -> set[str]:
    text = r.text + json.dumps(dict(r.headers))
    return {v for v in distinctive(m.record) if v in text and v not in sent}


def succeeded(method: str, template: str, r: httpx.Response) -> bool:
    if method == "POST" and template.startswith("/ui/control/"):
        return r.status_code == 303 and r.headers["location"].startswith("/ui/records/KZ/")
    return 200 <= r.status_code < 300


async def test_every_route_of_the_internal_port_has_an_entry_in_the_matrix(matrix: Matrix) -> None:
    served = app_routes(matrix.app)
    assert sorted(served - ROUTES.keys()) == [], "routes without an entry in policy.ROUTES"
    assert sorted(ROUTES.keys() - served) == [], "entries of policy.ROUTES no route serves"


@pytest.mark.parametrize(("method", "template"), list(ROUTES), ids=lambda v: str(v))
async def test_every_caller_gets_what_the_matrix_says(
    matrix: Matrix, method: str, template: str
) -> None:
    rule: RouteRule = ROUTES[(method, template)]
    log = AuditLog(matrix.store.engine)
    # Our own record is cancelled once: only by those the matrix allows, last.
    order = sorted(
        CALLERS, key=lambda c: expected(rule, template, caller_principal(c, template)) == "ok"
    )
    for caller in order:
        principal = caller_principal(caller, template)
        want = expected(rule, template, principal)
        before = log.count()
        r = await call(matrix, caller, method, template)
        sent = sent_by_caller(matrix, method, template)
        where = f"{method} {template} as {caller}: {r.status_code} {r.text[:200]}"
        assert r.status_code != 500, where
        if want == "open":
            assert leaked(matrix, r, sent) == set(), where
            continue
        if want == "ok":
            assert succeeded(method, template, r), where
            entries = log.entries(first=before + 1)
            if rule.action is Action.READ_RECORDS:  # Art.6: each read is on the chain
                assert principal is not None
                assert any(
                    e.actor == principal.name and e.action.endswith(".read") for e in entries
                ), where
            continue
        if want == "403":
            assert r.status_code == 403, where
            assert principal is not None
            assert any(
                e.action == "access.denied" and e.actor == principal.name
                for e in log.entries(first=before + 1)
            ), where
        elif want == "401":
            assert r.status_code == 401, where
        else:
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), where
        assert leaked(matrix, r, sent) == set(), where
    report = verify_chain([e.as_dict() for e in log.entries()], party="CN")
    assert report.ok, report.as_dict()


async def test_an_allowed_read_does_show_the_values_a_refusal_withholds(matrix: Matrix) -> None:
    """The leak check above looks for values that are really there for those allowed."""
    rid = matrix.record["record_id"]
    officer = await call(matrix, "arrival_officer", "GET", "/api/v1/records/{record_id:path}")
    assert officer.status_code == 200
    assert {v for v in distinctive(matrix.record) if v not in officer.text} == set()
    page = await call(matrix, "supervisor", "GET", "/ui/records/{origin}/{record_id:path}")
    assert matrix.record["consignee"]["name"] in page.text and rid in page.text


def test_the_documented_table_is_the_policy() -> None:
    text = DOCS.read_text("utf-8")
    assert BEGIN in text and END in text, f"{DOCS} lacks the permission-matrix markers"
    documented = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert documented == matrix_markdown().strip(), (
        "docs/ui.md's permission table differs from ctop_node.access.policy.ROUTES: "
        "regenerate it with `python -m ctop_node.access.policy`"
    )
