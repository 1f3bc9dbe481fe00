"""The receiver with real keys and a real database: each test is one scenario,
"a KZ node sends ... / result: CN answers ...".
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import cbor2
import orjson
import pytest

from ctop_node.crypto.cose import decode_sign1, sign1
from ctop_node.crypto.envelope import OpenedMessage, open_
from ctop_node.crypto.interfaces import Signer
from ctop_node.exchange.receive import Incoming, ItemResult, Receiver
from ctop_node.model.messages import MessageType, Receipt, Rejection
from ctop_node.store import SqlStore
from ctop_node.store.inbox import Inbox
from tests._homes import Home, make_home
from tests.unit.online._peers import (
    amended,
    cancellation_message,
    new_id,
    record_body,
    record_message,
    sealed,
)


@pytest.fixture
def receiver(kz_cn_homes: tuple[Home, Home], store: SqlStore) -> Receiver:
    _, cn = kz_cn_homes
    return Receiver("CN", Inbox(store.engine), cn.signer, cn.decryptor, cn.trust())


def open_answer(kz: Home, result: ItemResult) -> OpenedMessage:
    assert result.answer is not None
    return open_(result.answer, kz.trust(), kz.decryptor, "KZ")


def rejection_of(kz: Home, result: ItemResult) -> Rejection:
    opened = open_answer(kz, result)
    assert opened.header.type is MessageType.REJECTION
    return Rejection.model_validate_json(opened.payload)


def resign(data: bytes, signer: Signer, **header_changes: Any) -> bytes:
    """A validly signed message whose header was altered before signing."""
    inner = cbor2.loads(decode_sign1(data).payload)
    fields = cbor2.loads(inner["h"])
    fields.update(header_changes)
    inner["h"] = cbor2.dumps(fields, canonical=True)
    return sign1(cbor2.dumps(inner, canonical=True), signer)


def test_consignment_is_stored_and_receipted(
    kz_cn_homes: tuple[Home, Home], receiver: Receiver, store: SqlStore, record_dict: dict[str, Any]
) -> None:
    kz, cn = kz_cn_homes
    raw = record_message(kz, record_dict)
    result = receiver.handle(raw)
    assert result.status == "receipt" and result.code == ""
    answer = open_answer(kz, result)  # signed by CN, encrypted to KZ, verifiable by KZ
    assert answer.header.type is MessageType.RECEIPT
    assert answer.signer.party == "CN" and answer.header.sender == "CN"
    sent = open_(raw, cn.trust(), cn.decryptor, "CN").header
    assert answer.header.correlation_id == sent.message_id
    assert (answer.header.record_id, answer.header.version) == (record_dict["record_id"], 1)
    receipt = Receipt.model_validate_json(answer.payload)
    assert receipt.message_digest == hashlib.sha256(raw).hexdigest()
    assert receipt.message_id == sent.message_id
    row = store.get_record(record_dict["record_id"], 1, origin_party="KZ")
    assert row is not None and row.direction == "in" and row.outcome == "received"
    assert row.digest == sent.payload_digest and row.reason == "online"
    [inbox_row] = receiver.inbox.list()
    assert (inbox_row.state, inbox_row.answer_type, inbox_row.channel) == (
        "applied",
        "RECEIPT",
        "online",
    )


def test_replay_gets_identical_answer_and_is_stored_once(
    kz_cn_homes: tuple[Home, Home], receiver: Receiver, record_dict: dict[str, Any]
) -> None:
    kz, _ = kz_cn_homes
    raw = record_message(kz, record_dict)
    first, second = receiver.handle(raw), receiver.handle(raw)
    assert second.answer == first.answer and second.status == "receipt"
    assert "replay" in second.message
    assert len(receiver.inbox.list()) == 1 and receiver.inbox.count_applied("KZ") == 1


def test_same_message_id_other_payload_is_a_duplicate_id(
    kz_cn_homes: tuple[Home, Home], receiver: Receiver, record_dict: dict[str, Any]
) -> None:
    kz, _ = kz_cn_homes
    mid = new_id()
    assert receiver.handle(record_message(kz, record_dict, message_id=mid)).status == "receipt"
    other = record_message(kz, amended(record_dict, 2), message_id=mid)
    result = receiver.handle(other)
    assert (result.status, result.code) == ("rejection", "exchange.duplicate_message_id")
    [error] = rejection_of(kz, result).errors
    assert (error.code, error.field) == ("exchange.duplicate_message_id", "header.message_id")
    assert len(receiver.inbox.list()) == 1 and receiver.inbox.count_applied("KZ") == 1


def test_amendment_before_its_base_waits_then_both_apply_in_order(
    kz_cn_homes: tuple[Home, Home], receiver: Receiver, store: SqlStore, record_dict: dict[str, Any]
) -> None:
    kz, _ = kz_cn_homes
    rid = record_dict["record_id"]
    v2, v3 = amended(record_dict, 2), amended(record_dict, 3)
    early = receiver.handle(record_message(kz, v3, version=3))
    assert (early.status, early.message) == ("receipt", "waiting")
    assert receiver.handle(record_message(kz, v2, version=2)).message == "waiting"
    assert [w.version for w in receiver.inbox.waiting()] == [3, 2]
    assert receiver.inbox.count_applied("KZ") == 0
    base = receiver.handle(record_message(kz, record_dict))
    assert (base.status, base.message) == ("receipt", "applied")
    versions = store.versions(rid, origin_party="KZ")
    assert [r.version for r in versions] == [1, 2, 3]
    assert [r.digest for r in versions] == [
        hashlib.sha256(record_body(d)).hexdigest() for d in (record_dict, v2, v3)
    ]
    assert receiver.inbox.waiting() == []
    assert receiver.inbox.state_counts() == {"applied": 3}


def test_same_version_under_another_id(
    kz_cn_homes: tuple[Home, Home], receiver: Receiver, record_dict: dict[str, Any]
) -> None:
    """Lock copy and online copy of one version: one record row, both inbox rows; a
    different content for an applied version is out of sequence (mismatch)."""
    kz, _ = kz_cn_homes
    receiver.handle(record_message(kz, record_dict))
    again = receiver.handle(record_message(kz, record_dict), channel="lock")
    assert (again.status, again.message) == ("receipt", "duplicate")
    clash = receiver.handle(record_message(kz, amended(record_dict, 9)))
    assert (clash.status, clash.code) == ("rejection", "exchange.out_of_sequence")
    assert receiver.inbox.count_applied("KZ") == 1
    assert receiver.inbox.state_counts() == {"applied": 1, "duplicate": 1, "mismatch": 1}


def test_cancellation_of_an_unknown_record(
    kz_cn_homes: tuple[Home, Home], receiver: Receiver, record_dict: dict[str, Any]
) -> None:
    kz, _ = kz_cn_homes
    result = receiver.handle(cancellation_message(kz, "KZ-UNKNOWN-1"))
    assert (result.status, result.code) == ("rejection", "exchange.unknown_record")
    assert rejection_of(kz, result).errors[0].field == "$.record_id"
    receiver.handle(record_message(kz, record_dict))
    known = receiver.handle(cancellation_message(kz, record_dict["record_id"]))
    assert known.status == "receipt"


def test_tampered_byte_is_refused_and_nothing_stored(
    kz_cn_homes: tuple[Home, Home], receiver: Receiver, record_dict: dict[str, Any]
) -> None:
    kz, _ = kz_cn_homes
    raw = bytearray(record_message(kz, record_dict))
    raw[len(raw) // 2] ^= 0x01
    result = receiver.handle(bytes(raw))
    assert result.status == "refused" and result.answer is None
    assert result.code.startswith("crypto.")
    assert receiver.inbox.list() == [] and receiver.inbox.count_applied("KZ") == 0


def test_signed_by_a_node_of_an_untrusted_ca(
    kz_cn_homes: tuple[Home, Home], receiver: Receiver, tmp_path: Path, record_dict: dict[str, Any]
) -> None:
    kz, _ = kz_cn_homes
    impostor = make_home(tmp_path / "impostor", "KZ")  # a KZ CA that CN never imported
    result = receiver.handle(record_message(kz, record_dict, signer=impostor.signer))
    assert (result.status, result.code) == ("refused", "crypto.unknown_key")
    assert receiver.inbox.list() == []


def test_sender_in_header_is_not_the_certificates_party(
    kz_cn_homes: tuple[Home, Home], receiver: Receiver, record_dict: dict[str, Any]
) -> None:
    kz, _ = kz_cn_homes
    raw = resign(record_message(kz, record_dict), kz.signer, sender="RU")
    result = receiver.handle(raw)
    assert (result.status, result.code) == ("refused", "crypto.sender_mismatch")
    assert receiver.inbox.list() == []


def test_invalid_check_digit_is_rejected_with_field_path(
    kz_cn_homes: tuple[Home, Home], receiver: Receiver, record_dict: dict[str, Any]
) -> None:
    kz, _ = kz_cn_homes
    bad = copy.deepcopy(record_dict)
    bad["containers"][0]["number"] = "CSQU3054384"  # check digit of CSQU305438 is 3
    bad["goods"][0]["container_number"] = "CSQU3054384"
    result = receiver.handle(record_message(kz, bad))
    assert (result.status, result.code) == ("rejection", "record.container.check_digit")
    errors = rejection_of(kz, result).errors
    assert ("record.container.check_digit", "$.containers[0].number") in {
        (e.code, e.field) for e in errors
    }
    assert receiver.inbox.state_counts() == {"rejected": 1}
    assert receiver.inbox.count_applied("KZ") == 0


def test_route_not_leading_to_the_receiver_is_rejected(
    kz_cn_homes: tuple[Home, Home], receiver: Receiver, record_dict: dict[str, Any]
) -> None:
    kz, _ = kz_cn_homes
    record_dict["route"] = {"dispatch_country": "KZ", "destination_country": "UZ"}
    result = receiver.handle(record_message(kz, record_dict))
    assert (result.status, result.code) == ("rejection", "exchange.wrong_route")
    assert rejection_of(kz, result).errors[0].field == "$.route"


def test_transit_through_the_receiver_is_accepted(
    kz_cn_homes: tuple[Home, Home], receiver: Receiver, record_dict: dict[str, Any]
) -> None:
    kz, _ = kz_cn_homes
    record_dict["route"] = {
        "dispatch_country": "KZ",
        "destination_country": "DE",
        "transit_countries": ["CN"],
    }
    assert receiver.handle(record_message(kz, record_dict)).status == "receipt"


def test_record_sender_party_must_be_the_signer(
    kz_cn_homes: tuple[Home, Home], receiver: Receiver, record_dict: dict[str, Any]
) -> None:
    kz, _ = kz_cn_homes
    record_dict["sender_party"] = "RU"
    record_dict["route"]["transit_countries"] = []
    result = receiver.handle(record_message(kz, record_dict))
    assert (result.status, result.code) == ("rejection", "exchange.sender_mismatch")


def test_unknown_tc_version(
    kz_cn_homes: tuple[Home, Home], receiver: Receiver, record_dict: dict[str, Any]
) -> None:
    kz, _ = kz_cn_homes
    result = receiver.handle(record_message(kz, record_dict, tc_version="99"))
    assert (result.status, result.code) == ("rejection", "tc.unknown_version")
    assert open_answer(kz, result).header.tc_version == "1"


def test_non_canonical_payload_is_rejected(
    kz_cn_homes: tuple[Home, Home], receiver: Receiver, record_dict: dict[str, Any]
) -> None:
    kz, _ = kz_cn_homes
    body = orjson.dumps(record_dict, option=orjson.OPT_INDENT_2)
    raw = sealed(kz, body, record_id=record_dict["record_id"])
    result = receiver.handle(raw)
    assert (result.status, result.code) == ("rejection", "exchange.not_canonical")


def test_consignment_must_be_version_one(
    kz_cn_homes: tuple[Home, Home], receiver: Receiver, record_dict: dict[str, Any]
) -> None:
    kz, _ = kz_cn_homes
    raw = sealed(kz, record_body(record_dict), record_id=record_dict["record_id"], version=2)
    result = receiver.handle(raw)
    assert (result.status, result.code) == ("rejection", "exchange.version_type")


def test_a_failure_inside_one_item_refuses_only_that_item(
    kz_cn_homes: tuple[Home, Home],
    receiver: Receiver,
    record_dict: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kz, _ = kz_cn_homes
    good = record_message(kz, record_dict)
    other = record_message(kz, amended(record_dict, 2) | {"record_id": "KZ-OTHER-1"})
    real = receiver._seal_answer
    broken = {"KZ-OTHER-1"}

    def flaky(msg: Incoming, *args: Any) -> Any:
        if msg.fields.record_id in broken:
            raise RuntimeError("boom")
        return real(msg, *args)

    # Sealing the first answer fails inside the batch transaction: its savepoint is rolled
    # back (no inbox row, no record), the second message is stored and answered.
    monkeypatch.setattr(receiver, "_seal_answer", flaky)
    results = receiver.handle_batch([other, good])
    assert [(r.status, r.code) for r in results] == [
        ("refused", "exchange.internal"),
        ("receipt", ""),
    ]
    assert receiver.inbox.state_counts() == {"applied": 1}
    assert receiver.inbox.count_applied("KZ") == 1
    # Sent again, the refused message is handled as new.
    broken.clear()
    again = receiver.handle_batch([other])
    assert (again[0].status, again[0].message) == ("receipt", "applied")
    assert receiver.inbox.count_applied("KZ") == 2


def test_one_batch_replay_and_out_of_order_versions(
    kz_cn_homes: tuple[Home, Home], receiver: Receiver, record_dict: dict[str, Any]
) -> None:
    kz, _ = kz_cn_homes
    v1 = record_message(kz, record_dict)
    v2 = record_message(kz, amended(record_dict, 2), version=2)
    results = receiver.handle_batch([v2, v1, v1, v2])
    assert [r.message for r in results] == [
        "waiting",
        "applied",
        "applied (replay)",
        "applied (replay)",  # the stored state now; the answer bytes are the original
    ]
    assert results[2].answer == results[1].answer and results[3].answer == results[0].answer
    assert receiver.inbox.count_applied("KZ") == 2
    assert receiver.inbox.state_counts() == {"applied": 2}
