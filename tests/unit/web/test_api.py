"""Internal API: the clearance system posts records, gets the same outcomes as the CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from ctop_node.ingest.csv_ import write_csv
from ctop_node.ingest.pipeline import Classifier, IngestPipeline
from ctop_node.rules import NodePolicy
from ctop_node.store import SqlStore
from ctop_node.web.api import api_app, ensure_api_token

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def client(tmp_path: Path, store: SqlStore) -> httpx.AsyncClient:
    token = ensure_api_token(tmp_path)
    assert (tmp_path / "keys" / "api-token").stat().st_mode & 0o777 == 0o600
    assert ensure_api_token(tmp_path) == token

    app = api_app(IngestPipeline(store, Classifier(NodePolicy("KZ"))), token)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://node",
        headers={"Authorization": f"Bearer {token}"},
    )


async def test_post_ndjson_records(client: httpx.AsyncClient, record_dict: dict[str, Any]) -> None:
    bad = json.loads(json.dumps(record_dict))
    bad["record_id"] = "KZ-BAD"
    bad["goods"][0]["hs_code"] = "12"
    body = "\n".join([json.dumps(record_dict), json.dumps(bad), "{broken"]) + "\n"
    r = await client.post(
        "/api/v1/records", content=body, headers={"Content-Type": "application/x-ndjson"}
    )
    assert r.status_code == 200
    out = r.json()
    assert (out["read"], out["to_send"], out["rejected"]) == (3, 1, 2)
    fields = {(e["record_id"], e["field"], e["code"]) for e in out["errors"]}
    assert ("KZ-BAD", "$.goods[0].hs_code", "record.goods.hs_code") in fields
    # The same post again: same outcomes, nothing new stored.
    again = (
        await client.post(
            "/api/v1/records", content=body, headers={"Content-Type": "application/x-ndjson"}
        )
    ).json()
    assert (again["to_send"], again["new_versions"], again["unchanged"]) == (1, 0, 1)


async def test_auth_and_content_type(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/records",
        content="{}",
        headers={"Authorization": "Bearer wrong", "Content-Type": "application/json"},
    )
    assert r.status_code == 401 and r.json()["detail"]["code"] == "api.unauthorised"
    r = await client.post("/api/v1/records", content="{}", headers={"Authorization": ""})
    assert r.status_code == 401
    r = await client.post(
        "/api/v1/records", content="x", headers={"Content-Type": "application/pdf"}
    )
    assert r.status_code == 415


async def test_json_array_and_csv_by_query(
    client: httpx.AsyncClient, record_dict: dict[str, Any]
) -> None:
    r = await client.post(
        "/api/v1/records",
        content=json.dumps([record_dict]),
        headers={"Content-Type": "application/json"},
    )
    assert r.json()["to_send"] == 1
    buf = io.StringIO()
    write_csv([{**record_dict, "record_id": "KZ-CSV"}], buf)
    r = await client.post(
        "/api/v1/records?format=csv",
        content=buf.getvalue().encode(),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert r.json()["to_send"] == 1, r.json()
