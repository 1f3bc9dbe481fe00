"""The departure view of the sending node (KZ), on a real store fed through the real ingest
API: outcomes with field errors (rejected items too), outbox per peer, records waiting for a
smart lock; the same as JSON."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest

from ctop_node.access.sessions import Accounts, SessionSettings
from ctop_node.ingest.pipeline import Classifier, IngestPipeline
from ctop_node.rules import NodePolicy
from ctop_node.store import SqlStore
from ctop_node.store.users import UserStore
from ctop_node.web.api import api_app
from tests.unit.web._ui import CHEAP_HASHER, PASSWORD, SYSTEM_TOKEN, Clock, UiNode

pytestmark = pytest.mark.anyio


@pytest.fixture
def kz(store: SqlStore) -> UiNode:
    clock = Clock()
    app = api_app(
        IngestPipeline(store, Classifier(NodePolicy("KZ"))),
        SYSTEM_TOKEN,
        party="KZ",
        clock=clock,
        session_settings=SessionSettings(idle=timedelta(minutes=30), absolute=timedelta(hours=8)),
    )
    accounts = Accounts(UserStore(store.engine), clock=clock, hasher=CHEAP_HASHER)
    accounts.add_user("dana", "departure_officer", PASSWORD)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://node")
    return UiNode(store, clock, accounts, client)


async def _ingest(node: UiNode, records: list[dict[str, Any]]) -> None:
    body = b"".join(orjson.dumps(r) + b"\n" for r in records)
    r = await node.client.post(
        "/api/v1/records",
        content=body,
        headers={
            "Authorization": f"Bearer {SYSTEM_TOKEN}",
            "Content-Type": "application/x-ndjson",
        },
    )
    assert r.status_code == 200, r.text


async def test_departure_shows_outcomes_outbox_and_locks(
    kz: UiNode, record_dict: dict[str, Any]
) -> None:
    good = copy.deepcopy(record_dict)
    good["channel"] = "lock"  # the carrier asked for the lock: waiting to be written
    bad = copy.deepcopy(record_dict)
    bad["record_id"] = "KZ-551800-2026-000002"
    bad["containers"][0]["gross_mass_kg"] = "-5"
    await _ingest(kz, [good, bad])
    await kz.login("dana")
    page = await kz.client.get("/ui/departure")
    assert page.status_code == 200
    assert "outcome-rejected" in page.text and "gross_mass_kg" in page.text
    assert f"/ui/records/KZ/{good['record_id']}" in page.text
    outbox = page.text.split('id="outbox"')[1].split("</table>")[0]
    assert "<td>CN</td>" in outbox and "pending: 1" in outbox, outbox
    assert 'id="waiting-locks"' in page.text and "carrier:lock" in page.text
    rejected = await kz.client.get("/ui/departure?outcome=rejected")
    assert good["record_id"] not in rejected.text.split('id="ingested"')[1].split("</table>")[0]
    token = kz.accounts.issue_token("dana")
    api = await kz.client.get("/api/v1/departure", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    data = api.json()
    outcomes = {e["record"]: e["outcome"] for e in data["ingested"]}
    assert outcomes[good["record_id"]] == "to_send"
    assert outcomes[bad["record_id"]] == "rejected"
    errors = next(e for e in data["ingested"] if e["record"] == bad["record_id"])["errors"]
    assert any("gross_mass_kg" in e.get("field", "") for e in errors)
    assert data["outbox"]["CN"]["pending"] == 1
    assert [w["record_id"] for w in data["waiting_for_locks"]] == [good["record_id"]]
