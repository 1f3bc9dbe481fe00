"""The judge accepts an answer that is what the spec says and names every way one is not.

Answers are sealed by hand with the CN home's real keys, as a peer (conforming or not) would.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import cbor2
import httpx
import orjson
import pytest

from ctop_node.conformance import records
from ctop_node.conformance.client import Reply
from ctop_node.conformance.judge import Expect, Judge, receipt, refused, rejection, whole
from ctop_node.conformance.messages import Sent
from ctop_node.crypto.envelope import EnvelopeHeader, seal
from ctop_node.model.messages import MessageType
from tests.unit.conformance.conftest import KitPair


def _sent(pair: KitPair) -> Sent:
    data = records.record("KZ-CONF-J-1", "KZ", "CN")
    return pair.sealer().record(data, 1, records.body(data))


def _answer(
    pair: KitPair,
    sent: Sent,
    mtype: MessageType,
    payload: dict[str, Any],
    *,
    correlation: str | None = None,
    by_kit: bool = False,
) -> bytes:
    head = EnvelopeHeader.new(
        mtype,
        sender="KZ" if by_kit else "CN",
        recipient="KZ",
        tc_version="1",
        correlation_id=correlation or sent.message_id,
    )
    signer = pair.kit.signer() if by_kit else pair.cn.signer
    key = pair.kit.recipient_key("KZ") if by_kit else pair.cn.trust().recipient_key("KZ")
    return seal(head, orjson.dumps(payload), signer, key)


def _receipt_payload(sent: Sent, **changes: Any) -> dict[str, Any]:
    payload = {
        "message_id": sent.message_id,
        "message_digest": sent.digest,
        "stored_at": datetime.now(UTC).isoformat(),
        "status": "applied",
    }
    return payload | changes


def _reply(*items: dict[str, Any]) -> Reply:
    return Reply(200, b"", items=list(items))


def _judge(pair: KitPair, reply: Reply, sent: Sent, expect: Expect) -> list[str]:
    return Judge(pair.kit, "KZ", "CN").reply(reply, [sent], [expect])


def _item(status: str, answer: bytes | None, code: str = "") -> dict[str, Any]:
    return {"status": status, "answer": answer, "code": code, "message": ""}


def test_a_conforming_receipt_passes(kit_pair: KitPair) -> None:
    sent = _sent(kit_pair)
    answer = _answer(kit_pair, sent, MessageType.RECEIPT, _receipt_payload(sent))
    assert _judge(kit_pair, _reply(_item("receipt", answer)), sent, receipt("applied")) == []


@pytest.mark.parametrize(
    ("changes", "expect", "problem"),
    [
        ({"message_digest": "0" * 64}, receipt("applied"), "the receipt names digest"),
        ({"status": "waiting"}, receipt("applied"), "got 'waiting'"),
        ({"status": None}, receipt("applied"), "no status in the signed payload"),
        ({"message_id": "other"}, receipt("applied"), "the signed answer names message 'other'"),
    ],
)
def test_a_receipt_that_says_something_else_is_named(
    kit_pair: KitPair, changes: dict[str, Any], expect: Expect, problem: str
) -> None:
    sent = _sent(kit_pair)
    payload = {k: v for k, v in _receipt_payload(sent, **changes).items() if v is not None}
    answer = _answer(kit_pair, sent, MessageType.RECEIPT, payload)
    problems = _judge(kit_pair, _reply(_item("receipt", answer)), sent, expect)
    assert any(problem in p for p in problems), problems


def test_an_answer_not_signed_by_the_peer_or_not_answering_us_is_named(kit_pair: KitPair) -> None:
    sent = _sent(kit_pair)
    ours = _answer(kit_pair, sent, MessageType.RECEIPT, _receipt_payload(sent), by_kit=True)
    problems = _judge(kit_pair, _reply(_item("receipt", ours)), sent, receipt())
    assert problems == ["the answer is signed by KZ, not CN"]
    other = _answer(
        kit_pair,
        sent,
        MessageType.RECEIPT,
        _receipt_payload(sent),
        correlation="00000000-0000-4000-8000-000000000001",
    )
    problems = _judge(kit_pair, _reply(_item("receipt", other)), sent, receipt())
    assert len(problems) == 1 and "correlation_id" in problems[0]
    broken = bytearray(ours)
    broken[-3] ^= 1
    problems = _judge(kit_pair, _reply(_item("receipt", bytes(broken))), sent, receipt())
    assert problems == [p for p in problems if p.startswith("the answer does not verify")] != []


def test_rejections_are_judged_on_their_signed_errors(kit_pair: KitPair) -> None:
    sent = _sent(kit_pair)
    error = {"code": "exchange.cancelled", "field": "header.version", "message": "cancelled"}
    payload = {"message_id": sent.message_id, "message_digest": sent.digest, "errors": [error]}
    answer = _answer(kit_pair, sent, MessageType.REJECTION, payload)
    item = _item("rejection", answer, "exchange.cancelled")
    assert _judge(kit_pair, _reply(item), sent, rejection("exchange.cancelled")) == []
    problems = _judge(kit_pair, _reply(item), sent, rejection("exchange.cancelled", "$.x"))
    assert problems == ["expected exchange.cancelled at $.x, got it at ['header.version']"]
    problems = _judge(kit_pair, _reply(item), sent, rejection("exchange.out_of_sequence"))
    assert problems == [
        "expected REJECTION exchange.out_of_sequence, the signed errors are ['exchange.cancelled']"
    ]


def test_status_refusal_and_whole_request_mismatches(kit_pair: KitPair) -> None:
    sent = _sent(kit_pair)
    answer = _answer(kit_pair, sent, MessageType.RECEIPT, _receipt_payload(sent))
    problems = _judge(kit_pair, _reply(_item("receipt", answer)), sent, refused("crypto.decrypt"))
    assert problems == ["expected refused crypto.decrypt, got RECEIPT"]
    item = _item("refused", answer, "crypto.decrypt")
    problems = _judge(kit_pair, _reply(item), sent, refused("crypto.decrypt"))
    assert problems == ["a refused message must get no signed answer, got one"]
    assert _judge(kit_pair, _reply(item, item), sent, refused("crypto.decrypt")) == [
        "expected 1 answers (one per message), got 2"
    ]
    big = Reply(413, b"", problem={"code": "exchange.too_large", "message": "too big"})
    assert _judge(kit_pair, big, sent, whole(413, "exchange.too_large")) == []
    ok = Reply(200, bytes(cbor2.dumps([])), items=[])
    assert _judge(kit_pair, ok, sent, whole(413, "exchange.too_large")) == [
        "expected HTTP 413 exchange.too_large, got HTTP 200 0x80"
    ]


def test_a_rejection_of_other_bytes_is_named(kit_pair: KitPair) -> None:
    sent = _sent(kit_pair)
    error = {"code": "exchange.cancelled", "field": "header.version", "message": "cancelled"}
    payload = {"message_id": sent.message_id, "message_digest": "1" * 64, "errors": [error]}
    answer = _answer(kit_pair, sent, MessageType.REJECTION, payload)
    item = _item("rejection", answer, "exchange.cancelled")
    problems = _judge(kit_pair, _reply(item), sent, rejection("exchange.cancelled"))
    assert problems == [
        f"the rejection names digest '{'1' * 64}', the bytes we sent have {sent.digest}"
    ]


def test_a_200_answer_that_is_not_cbor_is_named(kit_pair: KitPair) -> None:
    response = httpx.Response(200, content=b"[]", headers={"content-type": "application/json"})
    reply = Reply.of(response)
    assert reply.items is None
    problems = _judge(kit_pair, reply, _sent(kit_pair), receipt())
    assert problems == [
        "expected a CBOR array of answers, got an answer of content-type "
        "'application/json', not application/cbor"
    ]
