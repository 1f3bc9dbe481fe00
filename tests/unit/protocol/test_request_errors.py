"""The whole-request errors of docs/rejection-codes.md are what the peer endpoint answers:
each documented code comes back with its documented HTTP status, and nothing else does."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import cbor2
import httpx
import pytest
from starlette.applications import Starlette

from ctop_node.crypto.trust import BundleTrustStore
from ctop_node.errors import StorageError
from ctop_node.exchange import codes
from ctop_node.exchange.receive import ItemResult, Receiver
from ctop_node.online.endpoint import CBOR, MESSAGES_PATH, peer_app


class _Receiver(Receiver):
    """Answers nothing itself: the requests below never reach a message, except the one whose
    database is down."""

    def __init__(self, *, down: bool = False) -> None:
        self.party = "CN"
        self.trust = BundleTrustStore.of([])  # in memory: no trust updates here
        self.down = down

    def handle_batch(self, raws: Sequence[bytes], *, channel: str = "online") -> list[ItemResult]:
        if self.down:
            raise StorageError("database gone", code="store.unavailable")
        raise AssertionError("a whole-request error must not reach the receiver")


def post(app: Starlette, **kw: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://peer") as client:
            return await client.post(MESSAGES_PATH, **kw)

    return asyncio.run(go())


CASES = {
    "exchange.bad_batch": {"content": b"\x81\x01", "headers": {"content-type": CBOR}},
    "exchange.content_type": {"content": b"\x80", "headers": {"content-type": "text/plain"}},
    "exchange.too_many_messages": {
        "content": cbor2.dumps([b"m"] * 3),
        "headers": {"content-type": CBOR},
    },
    "exchange.too_large": {"content": b"\x59" + b"x" * 5000, "headers": {"content-type": CBOR}},
    "store.unavailable": {"content": cbor2.dumps([b"m"]), "headers": {"content-type": CBOR}},
}


def test_every_documented_request_error_has_a_case() -> None:
    assert sorted(CASES) == sorted(r.code for r in codes.REQUEST_ERRORS)


@pytest.mark.parametrize("error", codes.REQUEST_ERRORS, ids=lambda r: r.code)
def test_the_endpoint_answers_the_documented_status(error: codes.RequestError) -> None:
    receiver = _Receiver(down=error.code == "store.unavailable")
    app = peer_app(receiver, max_body=4096, max_messages=2)
    response = post(app, **CASES[error.code])
    assert (response.status_code, response.json()["code"]) == (error.http, error.code)
    assert response.json()["message"]


def test_the_published_table_lists_them() -> None:
    text = codes.render_markdown()
    for r in codes.REQUEST_ERRORS:
        assert f"| {r.http} | `{r.code}` |" in text
