"""Internal API: ``POST /api/v1/records/{id}/cancel`` withdraws and cancels our record."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ctop_node.ingest.pipeline import Classifier, IngestPipeline
from ctop_node.rules import NodePolicy
from ctop_node.store import SqlStore
from ctop_node.store.outbox import Delivered, Outbox
from ctop_node.web.api import api_app, ensure_api_token

pytestmark = pytest.mark.anyio


@pytest.fixture
def client(tmp_path: Path, store: SqlStore) -> httpx.AsyncClient:
    token = ensure_api_token(tmp_path)
    app = api_app(IngestPipeline(store, Classifier(NodePolicy("KZ"))), token)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://node",
        headers={"Authorization": f"Bearer {token}"},
    )


async def _post(client: httpx.AsyncClient, record: dict[str, Any]) -> None:
    r = await client.post(
        "/api/v1/records",
        content=json.dumps(record) + "\n",
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 200 and r.json()["to_send"] == 1


async def test_cancel_a_delivered_record(
    client: httpx.AsyncClient, store: SqlStore, record_dict: dict[str, Any]
) -> None:
    rid = record_dict["record_id"]
    await _post(client, record_dict)
    box = Outbox(store.engine)
    soon = datetime.now(UTC) + timedelta(seconds=1)
    [item] = box.due("CN", 10, soon)
    box.attach_message(item.id, "00000000-0000-4000-8000-000000000001", b"sealed")
    box.settle([Delivered(item.id, b"receipt", soon)])

    r = await client.post(f"/api/v1/records/{rid}/cancel", json={"reason": "annulled"})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "record_id": rid,
        "withdrawn": [],
        "cancellations": [{"peer": "CN", "version": 1}],
        "already_cancelled": [],
    }
    [cancel] = box.due("CN", 10, soon)
    assert (cancel.kind, cancel.version, cancel.reason) == ("cancellation", 1, "annulled")
    [row] = store.list_records()
    assert row.state == "cancelled"

    # A new version of the cancelled record: kept, reported, never queued.
    v2 = json.loads(json.dumps(record_dict))
    v2["goods"][0]["description"] += " (v2)"
    posted = await client.post(
        "/api/v1/records",
        content=json.dumps(v2) + "\n",
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert (posted.json()["new_versions"], posted.json()["not_sent_cancelled"]) == (1, 1)
    assert box.due("CN", 10, soon) == [cancel]

    again = await client.post(f"/api/v1/records/{rid}/cancel", json={"reason": "annulled"})
    assert again.status_code == 409 and again.json()["detail"]["code"] == "record.already_cancelled"


async def test_cancel_refusals(client: httpx.AsyncClient, record_dict: dict[str, Any]) -> None:
    rid = record_dict["record_id"]
    await _post(client, record_dict)
    unknown = await client.post("/api/v1/records/NOPE-1/cancel", json={"reason": "x"})
    assert unknown.status_code == 404 and unknown.json()["detail"]["code"] == "record.not_found"
    for body in (b"{broken", b'{"reason": ""}', b'{"reason": 5}', b"[]"):
        bad = await client.post(f"/api/v1/records/{rid}/cancel", content=body)
        assert bad.status_code == 400, body
    long = await client.post(f"/api/v1/records/{rid}/cancel", json={"reason": "x" * 513})
    assert long.status_code == 400 and long.json()["detail"]["code"] == "cancel.reason"
    huge = await client.post(f"/api/v1/records/{rid}/cancel", content=b" " * 9000)
    assert huge.status_code == 413
    anonymous = await client.post(
        f"/api/v1/records/{rid}/cancel", json={"reason": "x"}, headers={"Authorization": ""}
    )
    assert anonymous.status_code == 401
