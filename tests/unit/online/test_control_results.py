"""Control results KZ -> CN -> KZ with real keys and two databases: CN's officer records a
result about a KZ record, CN's control sender delivers it as a signed CONTROL_RESULT to KZ's
REAL receiver, and KZ links it to its own record and keeps its content."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ctop_node.control.arrival import Status
from ctop_node.control.results import StoreControlOutcomes, build_result
from ctop_node.errors import TransportError
from ctop_node.exchange.receive import Receiver
from ctop_node.online.control_sender import ControlSender
from ctop_node.online.interfaces import DeliveryAnswer
from ctop_node.online.sender import Sender
from ctop_node.store import SqlStore, open_store
from ctop_node.store.control import ControlStore
from ctop_node.store.inbox import Inbox
from ctop_node.store.outbox import Outbox
from ctop_node.store.timeline import departure_events
from tests._homes import Home
from tests.unit.online.test_sender_receiver import InProcess
from tests.unit.store._entries import entry, with_id

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[SqlStore, SqlStore]]:
    kz = open_store(f"sqlite:///{tmp_path / 'kz.db'}")
    cn = open_store(f"sqlite:///{tmp_path / 'cn.db'}")
    try:
        yield kz, cn
    finally:
        kz.close()
        cn.close()


class Down:
    def send(self, peer: str, messages: list[bytes]) -> list[DeliveryAnswer]:
        raise TransportError("peer unreachable (test)")

    def close(self) -> None:
        pass


def _deliver_record(homes: tuple[Home, Home], kz: SqlStore, cn: SqlStore, record: Any) -> None:
    kz_home, cn_home = homes
    kz.write_batch([entry(record)], origin_party="KZ")
    to_cn = InProcess(
        Receiver("CN", Inbox(cn.engine), cn_home.signer, cn_home.decryptor, cn_home.trust())
    )
    sender = Sender(
        "KZ", Outbox(kz.engine), to_cn, kz_home.signer, kz_home.decryptor, kz_home.trust()
    )
    assert sender.run_once(datetime.now(UTC) + timedelta(seconds=1)).delivered == 1


def _control_sender(
    homes: tuple[Home, Home], kz: SqlStore, cn: SqlStore, transport: Any
) -> ControlSender:
    _, cn_home = homes
    return ControlSender(
        "CN",
        ControlStore(cn.engine),
        transport,
        cn_home.signer,
        cn_home.decryptor,
        cn_home.trust(),
        clock=lambda: NOW,
    )


def _to_kz(homes: tuple[Home, Home], kz: SqlStore) -> InProcess:
    kz_home, _ = homes
    return InProcess(
        Receiver("KZ", Inbox(kz.engine), kz_home.signer, kz_home.decryptor, kz_home.trust())
    )


def _result(rid: str, decision: str = "held", version: int = 1) -> Any:
    return build_result(
        record_id=rid,
        version=version,
        office="CN-ALASHANKOU",
        country="CN",
        arrived_at=NOW,
        seal_status="broken",
        findings="seal 2 cut, 3 cartons short",
        decision=decision,
        missing_goods=["2"],
    )


def test_a_control_result_goes_back_and_is_linked_to_the_senders_record(
    kz_cn_homes: tuple[Home, Home], stores: tuple[SqlStore, SqlStore], record_dict: dict[str, Any]
) -> None:
    kz, cn = stores
    rec = with_id(record_dict, "KZ-CR-1")
    _deliver_record(kz_cn_homes, kz, cn, rec)
    cn_results = ControlStore(cn.engine)
    pk = cn_results.record(_result("KZ-CR-1"), origin_party="KZ", recorded_by="olga", now=NOW)
    assert StoreControlOutcomes(cn_results).outcome("KZ", "KZ-CR-1") is Status.UNDER_CONTROL

    report = _control_sender(kz_cn_homes, kz, cn, _to_kz(kz_cn_homes, kz)).run_once()
    assert (report.sent, report.delivered) == (1, 1)
    sent = cn_results.get(pk)
    assert sent is not None and sent.state == "delivered" and sent.message_id

    got = ControlStore(kz.engine).for_record("KZ", "KZ-CR-1")
    assert len(got) == 1
    row = got[0]
    assert (row.direction, row.peer_party, row.decision, row.state) == (
        "in",
        "CN",
        "held",
        "received",
    )
    assert row.result.findings == "seal 2 cut, 3 cartons short"
    assert row.result.seal_status == "broken"
    assert [d.code for d in row.result.discrepancies] == ["goods.missing"]
    kinds = [e.kind for e in departure_events(kz.engine, "KZ", "KZ-CR-1")]
    assert kinds[0] == "ingested" and "sealed" in kinds and "delivered" in kinds
    # Sent again (a lost answer): the receiver answers from its inbox, nothing is doubled.
    again = _to_kz(kz_cn_homes, kz).send("KZ", [sent.message or b""])
    assert again[0].status == "receipt"
    assert len(ControlStore(kz.engine).for_record("KZ", "KZ-CR-1")) == 1


def test_a_result_for_a_record_the_sender_never_sent_is_rejected_with_the_field(
    kz_cn_homes: tuple[Home, Home], stores: tuple[SqlStore, SqlStore]
) -> None:
    kz, cn = stores
    cn_results = ControlStore(cn.engine)
    pk = cn_results.record(_result("KZ-NEVER"), origin_party="KZ", recorded_by="olga", now=NOW)
    report = _control_sender(kz_cn_homes, kz, cn, _to_kz(kz_cn_homes, kz)).run_once()
    assert report.rejected == 1
    row = cn_results.get(pk)
    assert row is not None and row.state == "rejected"
    assert row.last_error is not None and "$.record_id" in row.last_error
    assert "KZ-NEVER" in row.last_error
    assert ControlStore(kz.engine).for_record("KZ", "KZ-NEVER") == []


def test_an_unreachable_peer_keeps_the_result_pending_with_the_same_message(
    kz_cn_homes: tuple[Home, Home], stores: tuple[SqlStore, SqlStore], record_dict: dict[str, Any]
) -> None:
    kz, cn = stores
    _deliver_record(kz_cn_homes, kz, cn, with_id(record_dict, "KZ-CR-2"))
    cn_results = ControlStore(cn.engine)
    pk = cn_results.record(
        _result("KZ-CR-2", "released"), origin_party="KZ", recorded_by="olga", now=NOW
    )
    assert _control_sender(kz_cn_homes, kz, cn, Down()).run_once().retried == 1
    first = cn_results.get(pk)
    assert first is not None and first.state == "pending" and first.attempts == 1
    assert first.last_error is not None and "unreachable" in first.last_error
    assert cn_results.due(NOW) == []  # backed off
    later = _control_sender(kz_cn_homes, kz, cn, _to_kz(kz_cn_homes, kz))
    later.clock = lambda: NOW + timedelta(hours=1)
    assert later.run_once().delivered == 1
    done = cn_results.get(pk)
    assert done is not None and done.message_id == first.message_id  # the same sealed bytes
    got = ControlStore(kz.engine).for_record("KZ", "KZ-CR-2")
    assert [r.decision for r in got] == ["released"]
