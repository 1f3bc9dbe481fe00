"""docs/protocol/ctop.cddl describes what ctop-node really puts on the wire: messages of every
type made by the real code (two real homes, the real receiver and peer endpoint, the real
lock codec and device simulator) validate against it, and altered ones do not.

Validator: cddl-verifier (pycddl 0.6.4 wrongly rejects ``bstr .cbor rule`` on array
elements, which is how COSE_Sign1 carries its protected header and payload).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import cbor2
import httpx
import orjson
import pytest
from cddl_verifier import Validator
from starlette.applications import Starlette

from ctop_node.crypto.cose import decode_sign1
from ctop_node.crypto.encryption import HPKE_SUITE_NAME, INFO_LABEL, decrypt
from ctop_node.crypto.envelope import open_
from ctop_node.exchange.manifest import manifest_message, read_manifest, sign_manifest
from ctop_node.exchange.receive import Receiver
from ctop_node.lock.codec import open_payload
from ctop_node.lock.frames import split
from ctop_node.lock.header import parse_payload
from ctop_node.lock.image import read_image
from ctop_node.lock.reader import LockReader, lock_message_id
from ctop_node.model.canonical import canonical_bytes
from ctop_node.model.messages import ControlResult, Discrepancy, MessageType
from ctop_node.online.endpoint import CBOR, HEALTH_PATH, MESSAGES_PATH, peer_app
from ctop_node.online.http_client import encode_batch
from ctop_node.store import SqlStore, open_store
from ctop_node.store.inbox import Inbox
from tests._homes import Home
from tests.unit.lock._channel import NONCE, carrier_ca, cn_lock_reader, write_lock
from tests.unit.online._peers import (
    amended,
    cancellation_message,
    record_body,
    record_message,
    sealed,
)

CDDL = Path(__file__).parents[3] / "docs" / "protocol" / "ctop.cddl"

# The JSON rule each message type's payload must match.
PAYLOAD_RULE = {
    MessageType.CONSIGNMENT: "record",
    MessageType.AMENDMENT: "record",
    MessageType.CANCELLATION: "cancellation",
    MessageType.CONTROL_RESULT: "control-result",
    MessageType.MANIFEST: "manifest-message",
    MessageType.RECEIPT: "receipt",
    MessageType.REJECTION: "rejection",
}


@pytest.fixture(scope="module")
def schema() -> Validator:
    return Validator(CDDL)


def check(schema: Validator, rule: str, data: Any, *, deterministic: bool = False) -> None:
    result = schema.validate(data, root_type=rule, require_deterministic=deterministic)
    assert result.valid, f"{rule}: {result.errors}"


def refuse(schema: Validator, rule: str, data: Any) -> None:
    assert not schema.validate(data, root_type=rule).valid, f"{rule} accepted {data!r}"


@pytest.fixture
def store(sqlite_url: str) -> Iterator[SqlStore]:
    with open_store(sqlite_url) as s:
        yield s


@pytest.fixture
def receiver(kz_cn_homes: tuple[Home, Home], store: SqlStore) -> Receiver:
    _, cn = kz_cn_homes
    return Receiver("CN", Inbox(store.engine), cn.signer, cn.decryptor, cn.trust())


def post(app: Starlette, method: str, path: str, **kw: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://peer") as client:
            return await client.request(method, path, **kw)

    return asyncio.run(go())


def control_result_message(kz: Home, record_id: str) -> bytes:
    body = canonical_bytes(
        ControlResult(
            record_id=record_id,
            version=1,
            arrived_at=datetime(2026, 11, 26, 9, 30, tzinfo=UTC),
            seal_status="intact",
            discrepancies=[Discrepancy(code="MASS", field="goods[0]", description="+12 kg")],
            released=True,
            office="55180",
            country="KZ",
        )
    )
    return sealed(kz, body, mtype=MessageType.CONTROL_RESULT, record_id=record_id, version=1)


def manifest_message_of(kz: Home, record_id: str) -> bytes:
    day = date(2026, 11, 26)
    row = ["out", "CN", record_id, 1, "ab" * 32, "online", "m-1", "2026-11-26T09:30:00+00:00"]
    signed = sign_manifest("KZ", day, day, [row], kz.signer, now=datetime.now(UTC))
    body = canonical_bytes(manifest_message(signed, read_manifest(signed, kz.trust())))
    return sealed(kz, body, mtype=MessageType.MANIFEST, version=None)


def test_the_first_rule_is_the_sealed_message(schema: Validator) -> None:
    assert schema.default_root_type == "sealed-message"


def test_the_documented_hpke_label_is_the_one_the_code_uses(schema: Validator) -> None:
    check(schema, "hpke-info-label", cbor2.dumps(INFO_LABEL))
    refuse(schema, "hpke-info-label", cbor2.dumps(INFO_LABEL[:-1]))
    assert f"{HPKE_SUITE_NAME}" in CDDL.read_text("utf-8")


def test_online_messages_of_every_type_and_their_answers(
    kz_cn_homes: tuple[Home, Home],
    receiver: Receiver,
    schema: Validator,
    record_dict: dict[str, Any],
) -> None:
    kz, cn = kz_cn_homes
    rid = record_dict["record_id"]
    invalid = copy.deepcopy(record_dict)
    invalid["record_id"] = "KZ-INVALID-1"
    invalid["goods"][0]["currency"] = "ZZZ"
    sent = [
        record_message(kz, record_dict),
        record_message(kz, amended(record_dict, 2), version=2),
        control_result_message(kz, rid),
        cancellation_message(kz, rid, 2),
        manifest_message_of(kz, rid),
        record_message(kz, invalid),  # answered with a REJECTION
    ]
    body = encode_batch(sent)
    check(schema, "batch", body)
    response = post(
        peer_app(receiver), "POST", MESSAGES_PATH, content=body, headers={"content-type": CBOR}
    )
    assert response.status_code == 200
    check(schema, "answer-list", response.content)
    items = cbor2.loads(response.content)
    assert [i["status"] for i in items].count("rejection") >= 1
    answers = [i["answer"] for i in items if i["answer"] is not None]
    assert len(answers) == len(sent)
    seen: set[MessageType] = set()
    for raw, opener in [*((m, cn) for m in sent), *((a, kz) for a in answers)]:
        check(schema, "sealed-message", raw, deterministic=True)
        opened = open_(raw, opener.trust(), opener.decryptor, opener.party)
        seen.add(opened.header.type)
        payload = orjson.loads(opened.payload)
        check(schema, PAYLOAD_RULE[opened.header.type], payload)
        if opened.header.type is MessageType.MANIFEST:
            inner = base64.b64decode(payload["manifest"])
            check(schema, "signed-manifest", inner, deterministic=True)
    assert seen == set(MessageType)


def test_whole_request_errors_and_health(receiver: Receiver, schema: Validator) -> None:
    app = peer_app(receiver, max_body=4096, max_messages=2)
    cases = [
        ({"content": b"\x81\x01", "headers": {"content-type": CBOR}}, 400),
        ({"content": b"[]", "headers": {"content-type": "application/json"}}, 415),
        ({"content": cbor2.dumps([b"x"] * 3), "headers": {"content-type": CBOR}}, 413),
        ({"content": b"\x41" + b"x" * 5000, "headers": {"content-type": CBOR}}, 413),
    ]
    for kw, status in cases:
        r = post(app, "POST", MESSAGES_PATH, **kw)
        assert r.status_code == status
        check(schema, "request-error", r.json())
    check(schema, "health", post(app, "GET", HEALTH_PATH).json())


def test_altered_messages_do_not_validate(
    kz_cn_homes: tuple[Home, Home], schema: Validator, record_dict: dict[str, Any]
) -> None:
    kz, _ = kz_cn_homes
    raw = record_message(kz, record_dict)
    tag = cbor2.loads(raw)
    protected, unprotected, payload, signature = tag.value
    inner = cbor2.loads(payload)
    header = cbor2.loads(inner["h"])

    def cose(*parts: Any) -> bytes:
        return bytes(cbor2.dumps(cbor2.CBORTag(18, list(parts))))

    def with_header(**change: Any) -> bytes:
        h = {k: v for k, v in {**header, **change}.items() if v is not None}
        content = cbor2.dumps({**inner, "h": cbor2.dumps(h, canonical=True)}, canonical=True)
        return cose(protected, unprotected, content, signature)

    es256 = cbor2.dumps({1: -7, 4: b"12345678"})
    refuse(schema, "sealed-message", cbor2.dumps(tag.value))  # untagged
    refuse(schema, "sealed-message", cose(protected, {4: b"x"}, payload, signature))
    refuse(schema, "sealed-message", cose(es256, {}, payload, signature))
    refuse(schema, "sealed-message", with_header(created_at=None))  # required key missing
    refuse(schema, "sealed-message", with_header(type="NOTICE"))
    refuse(schema, "sealed-message", with_header(payload_digest="AB" * 32))
    refuse(schema, "sealed-message", with_header(extra=1))
    record = orjson.loads(record_body(record_dict))
    record["goods"][0]["value"] = "6240.0"  # scale 1, not 2
    refuse(schema, "record", record)


@pytest.mark.parametrize(("mode", "version"), [("full", 1), ("digest", 1), ("full", 2)])
def test_lock_image_payload_log_frames_and_the_kept_answer(
    kz_cn_homes: tuple[Home, Home],
    store: SqlStore,
    schema: Validator,
    record_dict: dict[str, Any],
    mode: str,
    version: int,
) -> None:
    kz, cn = kz_cn_homes
    carrier = carrier_ca()
    image = write_lock(carrier, kz, record_dict, mode=mode, version=version)
    check(schema, "lock-image", image, deterministic=True)
    payload = read_image(image).payload
    assert payload is not None
    check(schema, "lock-payload", payload, deterministic=True)
    header, body = parse_payload(payload)
    signed = decrypt(body, cn.decryptor, cbor2.dumps(header.to_map(), canonical=True))
    check(schema, "lock-signed", signed, deterministic=True)
    content = cbor2.loads(decode_sign1(signed).payload)
    if mode == "full":
        check(schema, "record", cbor2.loads(zlib.decompress(content["rec"])))
    opened = open_payload(payload, cn.trust(), cn.decryptor, party="CN")
    assert opened.header.mode == mode
    for entry in cbor2.loads(image)["log"]:
        check(schema, "log-entry", entry)
    for frame in split(image):
        check(schema, "lock-frame", frame, deterministic=True)
    reader: LockReader = cn_lock_reader(cn, store, carrier)
    result = reader.read(image, reader_id="CN-R1", nonce=NONCE)
    if mode == "full":
        stored = Inbox(store.engine).answer_for(lock_message_id(result.lock_id, result.payload_id))
        assert stored is not None
        check(schema, "sealed-message", stored.answer, deterministic=True)
        answer = open_(stored.answer, kz.trust(), kz.decryptor, "KZ")
        check(schema, PAYLOAD_RULE[answer.header.type], orjson.loads(answer.payload))
