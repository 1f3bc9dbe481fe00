"""Art.6: every read of peer data and every change of who may do what is an entry of the audit
chain, on every surface: pages and API reads (named by record when about one), logins and
failed logins, user and token changes, key and trust changes; ``audit verify`` still passes
afterwards. On both databases (the CN node's database is the test's ``db_url``)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ctop_node.access.audit_chain import AuditChain
from ctop_node.access.sessions import Accounts
from ctop_node.crypto.trust import export_trust
from ctop_node.ingest.pipeline import Classifier, IngestPipeline
from ctop_node.rules import NodePolicy
from ctop_node.store import SqlStore, open_store
from ctop_node.store.audit import AuditLog, AuditRow
from ctop_node.store.users import UserStore
from ctop_node.web.api import api_app
from tests.unit.access._nodes import Nodes, cli, exchange
from tests.unit.web._ui import CHEAP_HASHER, PASSWORD, SYSTEM_TOKEN, Clock

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def nodes(kz_cn_homes: Any, db_url: str, record_dict: dict[str, Any]) -> Nodes:
    return exchange(kz_cn_homes, db_url, record_dict, n=1)


def entries(nodes: Nodes, first: int = 1) -> list[AuditRow]:
    with open_store(nodes.cn_db) as store:
        return AuditLog(store.engine).entries(first=first)


def verified(nodes: Nodes) -> dict[str, Any]:
    result = cli("audit", "verify", "--home", str(nodes.cn.home), "--user", "auditor", "--json")
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


@pytest.fixture
async def web(nodes: Nodes) -> AsyncIterator[tuple[httpx.AsyncClient, SqlStore]]:
    """CN's internal app on its database, its chain signed by CN's node key; olga logged in."""
    clock = Clock()
    with open_store(nodes.cn_db) as store:
        app = api_app(
            IngestPipeline(store, Classifier(NodePolicy("CN"))),
            SYSTEM_TOKEN,
            party="CN",
            clock=clock,
            audit=AuditChain(AuditLog(store.engine), signer=nodes.cn.signer),
        )
        accounts = Accounts(UserStore(store.engine), clock=clock, hasher=CHEAP_HASHER)
        accounts.add_user("olga", "arrival_officer", PASSWORD)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("10.0.0.7", 50000)),
            base_url="http://node",
        ) as client:
            yield client, store


async def login(client: httpx.AsyncClient, name: str, password: str) -> httpx.Response:
    page = await client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    return await client.post(
        "/login", data={"username": name, "password": password, "csrf": csrf[1]}
    )


async def test_logins_page_views_and_api_reads_are_on_the_chain(
    nodes: Nodes, web: tuple[httpx.AsyncClient, SqlStore]
) -> None:
    client, _store = web
    rid = nodes.record_ids[0]
    start = len(entries(nodes)) + 1
    assert (await login(client, "olga", "wrong password!!")).status_code == 401
    assert (await login(client, "olga", PASSWORD)).status_code == 303
    record = f"record:KZ/{rid}/v1"
    reads = {
        f"/ui/records/KZ/{rid}": ("ui.read", record),
        "/ui/trains/KZ-1001-20261126": ("ui.read", "/ui/trains/KZ-1001-20261126"),
        "/ui/containers/CSQU3054383": ("ui.read", "/ui/containers/CSQU3054383"),
        f"/api/v1/records/{rid}": ("api.read", record),
        f"/api/v1/records/{rid}/discrepancies": ("api.read", record),
        f"/api/v1/records/{rid}/control-results": ("api.read", record),
        "/api/v1/control-results": ("api.read", "/api/v1/control-results"),
        "/api/v1/containers/CSQU3054383": ("api.read", "/api/v1/containers/CSQU3054383"),
        "/api/v1/trains/KZ-1001-20261126": ("api.read", "/api/v1/trains/KZ-1001-20261126"),
    }
    for path in reads:
        r = await client.get(path)
        assert r.status_code == 200, (path, r.text[:200])
    got = entries(nodes, start)
    failed, ok, *rest = got
    assert (failed.actor, failed.action, failed.object, failed.origin) == (
        "olga",
        "login.failed",
        "user:olga",
        "ui@10.0.0.7",
    )
    assert (ok.actor, ok.action, ok.purpose) == ("olga", "login", "authentication")
    assert [(e.action, e.object) for e in rest] == list(reads.values())
    for e in rest:
        assert e.actor == "olga" and e.purpose == "customs_control", e
        assert e.origin in ("ui@10.0.0.7", "api@10.0.0.7"), e
        assert "CSQU3054383" not in e.detail and "Xinjiang" not in e.detail  # no content
    assert verified(nodes)["ok"]


async def test_a_refused_page_is_on_the_chain_and_holds_nothing(
    nodes: Nodes, web: tuple[httpx.AsyncClient, SqlStore]
) -> None:
    client, store = web
    Accounts(UserStore(store.engine), hasher=CHEAP_HASHER).add_user("ann", "analyst", PASSWORD)
    await login(client, "ann", PASSWORD)
    rid = nodes.record_ids[0]
    r = await client.get(f"/ui/records/KZ/{rid}")
    assert r.status_code == 403 and "Xinjiang" not in r.text
    last = entries(nodes)[-1]
    assert (last.actor, last.action, last.object) == (
        "ann",
        "access.denied",
        f"/ui/records/KZ/{rid}",
    )
    assert json.loads(last.detail)["asked"] == "records.read"
    assert verified(nodes)["ok"]


def test_user_key_and_trust_changes_are_on_the_chain(nodes: Nodes, tmp_path: Path) -> None:
    home = str(nodes.cn.home)
    start = len(entries(nodes)) + 1

    def ok(*args: str, stdin: str | None = None) -> None:
        from typer.testing import CliRunner

        from ctop_node.cli import app

        result = CliRunner().invoke(app, list(args), input=stdin)
        assert result.exit_code == 0, (args, result.output, result.exception)

    ok("user", "add", "vera", "--role", "supervisor", "--password-stdin", "--home", home,
       "--user", "admin1", stdin=PASSWORD + "\n")  # fmt: skip
    ok("user", "token", "vera", "--home", home, "--user", "admin1")
    ok("user", "token", "vera", "--revoke", "--home", home, "--user", "admin1")
    ok("user", "disable", "vera", "--home", home, "--user", "admin1")
    ok("pki", "rotate", "--home", home, "--user", "admin1")
    ok("pki", "reissue-tls", "--dns", "cn.example", "--home", home, "--user", "admin1")
    bundle = tmp_path / "kz-trust.json"
    export_trust(nodes.kz.home, bundle)
    ok("pki", "import-trust", str(bundle), "--home", home, "--user", "admin1")
    got = [(e.actor, e.action, e.object, e.purpose) for e in entries(nodes, start)]
    assert got == [
        ("admin1", "user.add", "user:vera", "administration"),
        ("admin1", "user.token.issue", "user:vera", "administration"),
        ("admin1", "user.token.revoke", "user:vera", "administration"),
        ("admin1", "user.disable", "user:vera", "administration"),
        ("admin1", "pki.rotate", "key:node", "key_management"),
        ("admin1", "pki.reissue_tls", "key:tls", "key_management"),
        ("admin1", "pki.import_trust", "trust:KZ", "key_management"),
    ]
    assert json.loads(entries(nodes, start)[0].detail)["role"] == "supervisor"
    assert PASSWORD not in json.dumps([e.detail for e in entries(nodes, start)])
    assert verified(nodes)["ok"]


def test_cli_reads_and_exports_of_peer_data_are_on_the_chain(nodes: Nodes, tmp_path: Path) -> None:
    home = str(nodes.cn.home)
    rid = nodes.record_ids[0]
    start = len(entries(nodes)) + 1
    for args in (
        ("records", "show", rid, "--json"),
        ("records", "list", "--json"),
        ("records", "export", "--out", str(tmp_path / "out.json"), "--json"),
    ):
        done = cli(*args, "--home", home, "--user", "supervisor")
        assert done.exit_code == 0, (args, done.output)
    got = [(e.actor, e.action, e.object, e.origin[:4]) for e in entries(nodes, start)]
    assert got == [
        ("supervisor", "records.show", f"record:KZ/{rid}/v1", "cli@"),
        ("supervisor", "records.list", "records", "cli@"),
        ("supervisor", "records.export", f"record:KZ/{rid}/v1", "cli@"),
    ]
    assert verified(nodes)["ok"]
