"""Sender against the REAL Receiver (KZ -> CN, two databases, real keys) behind an
in-process transport: the receiver's store is the judge of what arrived, not the sender."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ctop_node.exchange.receive import Receiver
from ctop_node.online.interfaces import DeliveryAnswer
from ctop_node.online.sender import Sender
from ctop_node.store import SqlStore, open_store
from ctop_node.store.inbox import Inbox
from ctop_node.store.outbox import Outbox
from tests._homes import Home
from tests.unit.store._entries import changed, entry, with_id


class InProcess:
    """A Transport that hands the batch to a Receiver in this process."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.batches = 0
        self.seconds = 0.0  # spent in the receiver

    def send(self, peer: str, messages: list[bytes]) -> list[DeliveryAnswer]:
        assert peer == self.receiver.party
        self.batches += 1
        start = time.perf_counter()
        results = self.receiver.handle_batch(messages)
        self.seconds += time.perf_counter() - start
        return [DeliveryAnswer(r.status, r.answer, r.code, r.message) for r in results]

    def close(self) -> None:
        pass


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[SqlStore, SqlStore]]:
    kz = open_store(f"sqlite:///{tmp_path / 'kz.db'}")
    cn = open_store(f"sqlite:///{tmp_path / 'cn.db'}")
    try:
        yield kz, cn
    finally:
        kz.close()
        cn.close()


@pytest.fixture
def link(kz_cn_homes: tuple[Home, Home], stores: tuple[SqlStore, SqlStore]) -> InProcess:
    _, cn = kz_cn_homes
    receiver = Receiver("CN", Inbox(stores[1].engine), cn.signer, cn.decryptor, cn.trust())
    return InProcess(receiver)


def sender(kz_cn_homes: tuple[Home, Home], kz_store: SqlStore, transport: Any, **kw: Any) -> Sender:
    kz, _ = kz_cn_homes
    return Sender(
        "KZ",
        Outbox(kz_store.engine),
        transport,
        kz.signer,
        kz.decryptor,
        kz.trust(),
        **kw,
    )


def soon(seconds: float = 1) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def test_versions_arrive_applied_in_order_and_are_delivered(
    kz_cn_homes: tuple[Home, Home],
    stores: tuple[SqlStore, SqlStore],
    link: InProcess,
    record_dict: dict[str, Any],
) -> None:
    kz_store, cn_store = stores
    a = with_id(record_dict, "KZ-A")
    kz_store.write_batch([entry(a), entry(with_id(record_dict, "KZ-B"))], origin_party="KZ")
    kz_store.write_batch([entry(changed(a, "v2"))], origin_party="KZ")
    report = sender(kz_cn_homes, kz_store, link, batch_size=2).run_once(soon())
    assert report.delivered == 2
    assert sender(kz_cn_homes, kz_store, link).run_once(soon()).delivered == 1
    received = cn_store.versions("KZ-A", origin_party="KZ")
    assert [(r.version, r.direction) for r in received] == [(1, "in"), (2, "in")]
    ours = kz_store.versions("KZ-A")
    assert [r.digest for r in received] == [r.digest for r in ours]
    assert Inbox(cn_store.engine).state_counts() == {"applied": 3}
    assert Outbox(kz_store.engine).counts()["delivered"] == 3


def test_a_rejection_of_the_real_receiver_is_kept(
    kz_cn_homes: tuple[Home, Home],
    stores: tuple[SqlStore, SqlStore],
    link: InProcess,
    record_dict: dict[str, Any],
) -> None:
    kz_store, cn_store = stores
    to_ru = with_id(record_dict, "KZ-RU")
    to_ru["route"] = {**to_ru["route"], "destination_country": "RU"}
    kz_store.write_batch([entry(to_ru, peers=("CN",))], origin_party="KZ")  # wrongly routed
    assert sender(kz_cn_homes, kz_store, link).run_once(soon()).rejected == 1
    (shown,) = Outbox(kz_store.engine).rejections()
    assert shown["record_id"] == "KZ-RU" and shown["code"] == "exchange.wrong_route"
    assert cn_store.versions("KZ-RU") == []


def test_a_rejection_is_logged_by_field_and_code_not_by_its_message(
    kz_cn_homes: tuple[Home, Home],
    stores: tuple[SqlStore, SqlStore],
    link: InProcess,
    record_dict: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A rejection's message may quote a value of the record: the log keeps the field and
    the code (issue 11: logs never hold record content); the outbox keeps the whole text."""
    kz_store, _ = stores
    to_ru = with_id(record_dict, "KZ-RU")
    to_ru["route"] = {**to_ru["route"], "destination_country": "RU"}
    kz_store.write_batch([entry(to_ru, peers=("CN",))], origin_party="KZ")
    with caplog.at_level("INFO", logger="ctop_node.online.sender"):
        assert sender(kz_cn_homes, kz_store, link).run_once(soon()).rejected == 1
    (shown,) = Outbox(kz_store.engine).rejections()
    [line] = [r.getMessage() for r in caplog.records if "rejected by" in r.getMessage()]
    assert "[exchange.wrong_route]" in line and "$." in line
    message = shown["message"].split("] ", 1)[-1]
    assert message and message not in line, (message, line)


def test_a_resend_after_a_lost_answer_is_stored_once(
    kz_cn_homes: tuple[Home, Home],
    stores: tuple[SqlStore, SqlStore],
    link: InProcess,
    record_dict: dict[str, Any],
) -> None:
    """The receiver committed, the answer was lost (receiver killed before answering): the
    sender resends the same message and gets the original receipt; one row at the peer."""
    kz_store, cn_store = stores

    class LoseAnswers(InProcess):
        def send(self, peer: str, messages: list[bytes]) -> list[DeliveryAnswer]:
            super().send(peer, messages)
            from ctop_node.online.interfaces import PeerUnreachable

            raise PeerUnreachable("connection reset after the peer committed")

    kz_store.write_batch([entry(record_dict)], origin_party="KZ")
    lossy = LoseAnswers(link.receiver)
    now = soon()
    assert sender(kz_cn_homes, kz_store, lossy).run_once(now).delivered == 0
    assert len(cn_store.versions(record_dict["record_id"])) == 1
    assert sender(kz_cn_homes, kz_store, link).run_once(now + timedelta(minutes=2)).delivered == 1
    assert len(cn_store.versions(record_dict["record_id"])) == 1
    assert Inbox(cn_store.engine).state_counts() == {"applied": 1}


def test_throughput_of_seal_send_verify_in_process(
    kz_cn_homes: tuple[Home, Home],
    stores: tuple[SqlStore, SqlStore],
    link: InProcess,
    record_dict: dict[str, Any],
) -> None:
    """Not a timed test (no threshold): prints the figure for the report."""
    kz_store, cn_store = stores
    n = 1000
    kz_store.write_batch(
        [entry(with_id(record_dict, f"KZ-T-{i:05d}")) for i in range(n)], origin_party="KZ"
    )
    s = sender(kz_cn_homes, kz_store, link, batch_size=200)
    start = time.perf_counter()
    while s.run_once(soon()).sent:
        pass
    took = time.perf_counter() - start
    assert Outbox(kz_store.engine).counts()["delivered"] == n
    assert Inbox(cn_store.engine).count_applied("KZ") == n
    own = took - link.seconds
    print(
        f"\n{n} records KZ->CN in-process: {took:.2f} s, {n / took:.0f} records/s end to end; "
        f"sender side (seal+attach+verify answers+settle) {own:.2f} s = {n / own:.0f}/s, "
        f"receiver {link.seconds:.2f} s"
    )


def test_pipelined_drain_delivers_every_version_in_order(
    kz_cn_homes: tuple[Home, Home],
    stores: tuple[SqlStore, SqlStore],
    link: InProcess,
    record_dict: dict[str, Any],
) -> None:
    kz_store, cn_store = stores
    ids = [f"KZ-P-{i:03d}" for i in range(30)]
    kz_store.write_batch([entry(with_id(record_dict, r)) for r in ids], origin_party="KZ")
    kz_store.write_batch(
        [entry(changed(with_id(record_dict, r), "v2")) for r in ids], origin_party="KZ"
    )
    s = sender(kz_cn_homes, kz_store, link, batch_size=7)
    try:
        report = s.drain("CN", threading.Event())
    finally:
        s.close()
    assert (report.sent, report.delivered, report.retried) == (60, 60, 0)
    assert link.batches == 9  # ceil(60 / 7): each batch sent once
    # v2 never overtook v1: every version applied, none parked.
    assert Inbox(cn_store.engine).state_counts() == {"applied": 60}
    assert Outbox(kz_store.engine).counts()["delivered"] == 60


def test_pipelined_drain_stops_sending_after_a_failed_batch(
    kz_cn_homes: tuple[Home, Home],
    stores: tuple[SqlStore, SqlStore],
    link: InProcess,
    record_dict: dict[str, Any],
) -> None:
    """Batch 2 fails in transit: batch 3 (already sealed) is not sent; everything not
    delivered stays pending and a later pass delivers it once."""
    kz_store, cn_store = stores
    kz_store.write_batch(
        [entry(with_id(record_dict, f"KZ-F-{i:03d}")) for i in range(20)], origin_party="KZ"
    )

    class FailSecond(InProcess):
        def send(self, peer: str, messages: list[bytes]) -> list[DeliveryAnswer]:
            if self.batches == 1:
                self.batches += 1
                from ctop_node.online.interfaces import PeerUnreachable

                raise PeerUnreachable("reset")
            return super().send(peer, messages)

    flaky = FailSecond(link.receiver)
    s = sender(kz_cn_homes, kz_store, flaky, batch_size=5)
    try:
        report = s.drain("CN", threading.Event())
    finally:
        s.close()
    assert (report.delivered, report.retried) == (5, 5)
    assert flaky.batches == 2
    counts = Outbox(kz_store.engine).counts()
    assert (counts["delivered"], counts["pending"]) == (5, 15)
    later = sender(kz_cn_homes, kz_store, link, batch_size=50).run_once(soon(600))
    assert later.delivered == 15
    assert Inbox(cn_store.engine).count_applied("KZ") == 20
