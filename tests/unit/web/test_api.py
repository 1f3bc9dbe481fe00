"""Internal API: the clearance system posts records, gets the same outcomes as the CLI."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ctop_node.errors import ConfigError
from ctop_node.ingest.csv_ import write_csv
from ctop_node.ingest.pipeline import Classifier, IngestPipeline
from ctop_node.rules import NodePolicy
from ctop_node.store import SqlStore
from ctop_node.web.api import DEFAULT_MAX_UPLOAD, api_app, ensure_api_token, upload_limit

pytestmark = pytest.mark.anyio


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


async def test_nul_in_one_record_is_its_rejection_not_a_server_error(
    client: httpx.AsyncClient, record_dict: dict[str, Any]
) -> None:
    """PostgreSQL answered 500 store.error and a retrying client never got through."""
    bad = {**record_dict, "record_id": "KZ-API-\u0000"}
    body = json.dumps([{**record_dict, "record_id": "KZ-API-1"}, bad]).encode()
    for _ in range(2):  # a retry gets the same answer, not a 500
        r = await client.post(
            "/api/v1/records", content=body, headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["rejected"] == 1 and out["to_send"] == 1
        assert out["errors"][0]["code"] == "record.text.unstorable"


@pytest.mark.parametrize("ctype", ["application/json", "application/x-ndjson"])
async def test_duplicate_keys_are_rejected_on_the_api(
    client: httpx.AsyncClient, record_dict: dict[str, Any], ctype: str
) -> None:
    rec = {k: v for k, v in record_dict.items() if k != "flags"}
    rec["record_id"] = "KZ-API-DUP"
    line = json.dumps(rec)[:-1] + ', "flags": {"state_secret": true}, "flags": {}}'
    r = await client.post("/api/v1/records", content=line + "\n", headers={"Content-Type": ctype})
    out = r.json()
    assert (out["rejected"], out["to_send"], out["refused"]) == (1, 0, 0)
    [error] = out["errors"]
    assert (error["code"], error["record_id"], error["field"]) == (
        "input.duplicate_key",
        "KZ-API-DUP",
        "$.flags",
    )
    assert "KZ-API-DUP" in error["message"] and "$.flags" in error["message"]


async def test_errors_never_name_the_servers_temporary_path(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/records", content=b"[{broken", headers={"Content-Type": "application/json"}
    )
    out = r.json()
    assert out["rejected"] == 1
    text = json.dumps(out)
    assert "ctop-upload-" not in text and "/tmp" not in text
    assert out["errors"][0]["source"] == "upload.json"


async def test_upload_over_the_limit_is_413_with_a_json_error(
    tmp_path: Path, store: SqlStore, record_dict: dict[str, Any]
) -> None:
    token = ensure_api_token(tmp_path)
    app = api_app(IngestPipeline(store, Classifier(NodePolicy("KZ"))), token, max_upload=1000)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://node",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    ) as client:
        r = await client.post("/api/v1/records", content=b"[" + b" " * 2000 + b"]")
        assert r.status_code == 413
        assert r.json()["detail"]["code"] == "api.too_large"

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
            for _ in range(5):
                yield b" " * 300

        r = await client.post("/api/v1/records", content=chunks())
        assert r.status_code == 413 and r.json()["detail"]["code"] == "api.too_large"
        r = await client.post("/api/v1/records", content=json.dumps([record_dict]).encode()[:999])
        assert r.status_code == 200


def test_upload_limit_from_node_json() -> None:
    assert upload_limit({}) == DEFAULT_MAX_UPLOAD == 64 * 1024 * 1024
    assert upload_limit({"api_max_upload_bytes": 5000}) == 5000
    for bad in (0, -1, "big", True):
        with pytest.raises(ConfigError):
            upload_limit({"api_max_upload_bytes": bad})
