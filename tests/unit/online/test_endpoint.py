"""The peer endpoint in process (httpx ASGITransport): whole-request errors get a clear 4xx,
good batches get one answer per message, and no body of any shape gives a 5xx."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import cbor2
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from ctop_node.errors import StorageError
from ctop_node.exchange.receive import Receiver
from ctop_node.online.endpoint import CBOR, HEALTH_PATH, MESSAGES_PATH, peer_app
from ctop_node.online.http_client import decode_answers
from ctop_node.store import SqlStore, open_store
from ctop_node.store.inbox import Inbox
from tests._homes import Home, make_pair

from ._peers import amended, record_message

HEADERS = {"content-type": CBOR}


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Home, Home]:
    return make_pair(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def store(sqlite_url: str) -> Iterator[SqlStore]:
    with open_store(sqlite_url) as s:
        yield s


@pytest.fixture
def receiver(pair: tuple[Home, Home], store: SqlStore) -> Receiver:
    _, cn = pair
    return Receiver("CN", Inbox(store.engine), cn.signer, cn.decryptor, cn.trust())


@pytest.fixture
def app(receiver: Receiver) -> Starlette:
    return peer_app(receiver, max_body=64 * 1024, max_messages=5)


def call(app: Starlette, method: str, path: str, **kw: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://peer") as client:
            return await client.request(method, path, **kw)

    return asyncio.run(go())


def post(app: Starlette, body: bytes | Any, **kw: Any) -> httpx.Response:
    return call(app, "POST", MESSAGES_PATH, content=body, headers=kw.pop("headers", HEADERS))


def test_health(app: Starlette) -> None:
    response = call(app, "GET", HEALTH_PATH)
    assert response.status_code == 200
    assert response.json() == {"party": "CN", "tc_versions": [1]}


def test_batch_gets_one_answer_per_message_in_order(
    app: Starlette, pair: tuple[Home, Home], record_dict: dict[str, Any]
) -> None:
    kz, _ = pair
    other = amended(record_dict, 2) | {"record_id": "KZ-OTHER-2"}
    batch = [record_message(kz, record_dict), b"not a message", record_message(kz, other)]
    response = post(app, cbor2.dumps(batch))
    assert response.status_code == 200 and response.headers["content-type"] == CBOR
    answers = decode_answers(response.content, 3)  # the sender's own strict decoder
    assert [(a.status, a.code) for a in answers] == [
        ("receipt", ""),
        ("refused", "crypto.malformed"),
        ("receipt", ""),
    ]
    assert answers[1].answer is None and answers[0].answer and answers[2].answer
    # On the wire a missing value is null, never "": a receipt carries no code.
    raw = cbor2.loads(response.content)
    assert raw[0]["code"] is None and raw[1]["code"] == "crypto.malformed"


def test_wrong_content_type(app: Starlette) -> None:
    response = post(app, cbor2.dumps([b"x"]), headers={"content-type": "application/json"})
    assert response.status_code == 415
    assert response.json()["code"] == "exchange.content_type"


def test_declared_oversized_body(app: Starlette) -> None:
    response = post(app, b"\x00" * (64 * 1024 + 1))
    assert (response.status_code, response.json()["code"]) == (413, "exchange.too_large")


def test_streamed_oversized_body_is_refused_before_it_is_all_read(app: Starlette) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):  # 16 MB offered in 16 KiB chunks, no content-length
            sent += 1
            yield b"\x00" * 16384

    response = post(app, chunks())
    assert response.status_code == 413
    assert sent < 1000


def test_too_many_messages(app: Starlette) -> None:
    response = post(app, cbor2.dumps([b"m"] * 6))
    assert (response.status_code, response.json()["code"]) == (413, "exchange.too_many_messages")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xff\xfe garbage",
        cbor2.dumps({"messages": [b"x"]}),
        cbor2.dumps(b"one message, not an array"),
        cbor2.dumps([1, 2, 3]),
        cbor2.dumps([b"x", "text"]),
        cbor2.dumps([[b"nested"]]),
        cbor2.dumps([b"x"]) + b"\x00",  # trailing bytes
        b"\x9f" * 10_000,  # deep indefinite arrays
    ],
)
def test_not_a_cbor_array_of_bytes(app: Starlette, body: bytes) -> None:
    response = post(app, body)
    assert (response.status_code, response.json()["code"]) == (400, "exchange.bad_batch")


def test_empty_batch(app: Starlette) -> None:
    response = post(app, cbor2.dumps([]))
    assert response.status_code == 200 and cbor2.loads(response.content) == []


def test_failure_inside_an_item_refuses_only_that_item(
    app: Starlette, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(raw: bytes, channel: str) -> Any:
        raise ZeroDivisionError

    monkeypatch.setattr(receiver, "_prepare", broken)
    response = post(app, cbor2.dumps([b"a", b"b"]))
    assert response.status_code == 200
    assert [a.code for a in decode_answers(response.content, 2)] == ["exchange.internal"] * 2


def test_unavailable_database_is_503(
    app: Starlette, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def down(*args: Any, **kw: Any) -> Any:
        raise StorageError("gone", code="store.unavailable")

    # The batch's one transaction cannot reach the database.
    monkeypatch.setattr(receiver.inbox, "accept_batch", down)
    response = post(app, cbor2.dumps([b"a"]))
    assert (response.status_code, response.json()["code"]) == (503, "store.unavailable")


_cbor_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.binary(max_size=64) | st.text(max_size=16),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=12,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        st.binary(max_size=512),
        st.lists(st.binary(max_size=256), max_size=8).map(cbor2.dumps),
        _cbor_values.map(cbor2.dumps),
    )
)
def test_fuzzed_bodies_never_give_a_5xx(app: Starlette, body: bytes) -> None:
    response = post(app, body)
    assert response.status_code in (200, 400, 413)
    if response.status_code == 200:
        assert all(
            a.status == "refused" for a in decode_answers(response.content, len(cbor2.loads(body)))
        )
