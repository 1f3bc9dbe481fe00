"""MANIFEST messages: KZ sends its signed manifest to CN through the one receive path; CN
checks the inner signature, Party, days and count before storing it, and reconciles its own
database with it."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from typing import Any

import pytest

from ctop_node.errors import ReportError
from ctop_node.exchange.manifest import (
    manifest_message,
    read_manifest,
    sign_manifest,
)
from ctop_node.exchange.receive import Receiver
from ctop_node.model.canonical import canonical_bytes
from ctop_node.model.messages import ManifestMessage, MessageType
from ctop_node.online.interfaces import DeliveryAnswer
from ctop_node.online.manifest_sender import send_manifest
from ctop_node.reports.manifest import (
    build_manifest,
    reconcile_with_received,
    reconciliation_summary,
)
from ctop_node.store import SqlStore
from ctop_node.store.inbox import Inbox
from ctop_node.store.peer_manifests import PeerManifests
from tests._homes import Home
from tests.unit.exchange.test_receive import rejection_of
from tests.unit.online._peers import sealed

DAY = date(2026, 11, 2)
ROW = ["out", "CN", "KZ-R-1", 1, "ab" * 32, "online", "m-1", "2026-11-02T08:00:00+00:00"]


@pytest.fixture
def receiver(kz_cn_homes: tuple[Home, Home], store: SqlStore) -> Receiver:
    _, cn = kz_cn_homes
    return Receiver("CN", Inbox(store.engine), cn.signer, cn.decryptor, cn.trust())


class _Loopback:
    """A Transport that hands the batch to a Receiver in this process."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver

    def send(self, peer: str, messages: list[bytes]) -> list[DeliveryAnswer]:
        return [
            DeliveryAnswer(r.status, r.answer, r.code, r.message)
            for r in self.receiver.handle_batch(messages)
        ]

    def close(self) -> None:
        pass


def _signed(home: Home, rows: list[list[Any]] | None = None, party: str = "KZ") -> bytes:
    now = datetime(2026, 11, 3, tzinfo=UTC)
    return sign_manifest(party, DAY, DAY, rows or [ROW], home.signer, now=now)


def _message(sender: Home, notice: ManifestMessage | dict[str, Any]) -> bytes:
    body = canonical_bytes(notice)
    return sealed(sender, body, mtype=MessageType.MANIFEST, version=None)


def test_a_manifest_is_checked_stored_and_receipted(
    kz_cn_homes: tuple[Home, Home], receiver: Receiver
) -> None:
    kz, _ = kz_cn_homes
    signed = _signed(kz)
    notice = manifest_message(signed, read_manifest(signed, kz.trust()))
    assert (notice.first_day, notice.entries) == (DAY, 1)
    result = receiver.handle(_message(kz, notice))
    assert (result.status, result.message) == ("receipt", "applied")
    kept = PeerManifests(receiver.inbox.engine).latest(DAY, DAY, sender="KZ")
    assert kept is not None and kept.manifest == signed and kept.entries == 1
    assert read_manifest(kept.manifest, receiver.trust).entries[0]["record_id"] == "KZ-R-1"
    assert PeerManifests(receiver.inbox.engine).latest(DAY, date(2026, 11, 3)) is None
    (row,) = receiver.inbox.list()
    assert (row.type, row.state) == ("MANIFEST", "applied")


def _refused_inner(kz: Home, receiver: Receiver, notice: dict[str, Any]) -> tuple[str, str]:
    result = receiver.handle(_message(kz, notice))
    assert result.status == "rejection", result
    err = rejection_of(kz, result).errors[0]
    assert PeerManifests(receiver.inbox.engine).latest(DAY, DAY) is None
    return err.code, err.field


def test_a_flipped_byte_in_the_inner_manifest_is_rejected(
    kz_cn_homes: tuple[Home, Home], receiver: Receiver
) -> None:
    kz, _ = kz_cn_homes
    signed = bytearray(_signed(kz))
    signed[len(signed) // 2] ^= 0x01
    notice = {
        "first_day": DAY.isoformat(),
        "last_day": DAY.isoformat(),
        "entries": 1,
        "manifest": base64.b64encode(bytes(signed)).decode(),
    }
    assert _refused_inner(kz, receiver, notice) == ("exchange.manifest", "$.manifest")


def test_a_manifest_of_another_party_or_other_days_or_count_is_rejected(
    kz_cn_homes: tuple[Home, Home], receiver: Receiver
) -> None:
    kz, cn = kz_cn_homes
    theirs = _signed(cn, party="CN")  # KZ forwards CN's own manifest as if it were its own
    good = manifest_message(_signed(kz), read_manifest(_signed(kz), kz.trust()))
    base = good.model_dump(mode="json")
    forwarded = base | {"manifest": base64.b64encode(theirs).decode()}
    assert _refused_inner(kz, receiver, forwarded) == ("exchange.manifest", "$.manifest")
    assert _refused_inner(kz, receiver, base | {"last_day": "2026-11-03"}) == (
        "exchange.manifest",
        "$.first_day",
    )
    assert _refused_inner(kz, receiver, base | {"entries": 2}) == (
        "exchange.manifest",
        "$.entries",
    )
    code, field = _refused_inner(kz, receiver, base | {"manifest": "not base64!"})
    assert field == "$.manifest" and code != "exchange.manifest"  # the schema's pattern


def test_a_flipped_byte_in_the_envelope_is_refused(
    kz_cn_homes: tuple[Home, Home], receiver: Receiver
) -> None:
    kz, _ = kz_cn_homes
    signed = _signed(kz)
    raw = bytearray(_message(kz, manifest_message(signed, read_manifest(signed, kz.trust()))))
    raw[len(raw) // 2] ^= 0x01
    result = receiver.handle(bytes(raw))
    assert result.status == "refused" and result.answer is None
    assert receiver.inbox.list() == []


def test_send_manifest_judges_the_receipt_and_cn_reconciles(
    kz_cn_homes: tuple[Home, Home],
    receiver: Receiver,
    store: SqlStore,
    tmp_path: Any,
) -> None:
    kz, cn = kz_cn_homes
    # KZ's manifest lists one record it sent that CN does not hold.
    sent = send_manifest(
        _signed(kz),
        party="KZ",
        peer="CN",
        transport=_Loopback(receiver),
        signer=kz.signer,
        decryptor=kz.decryptor,
        trust=kz.trust(),
    )
    assert (sent.status, sent.entries) == ("delivered", 1)
    rec = reconcile_with_received(
        store, "CN", DAY, DAY, cn.signer, cn.trust(), now=datetime.now(UTC)
    )
    assert rec is not None
    assert [(d["kind"], d["record_id"]) for d in rec["differences"]] == [
        ("sent_not_held", "KZ-R-1")
    ]
    assert rec["theirs"]["message_id"] == sent.message_id
    summary = reconciliation_summary(store, "CN", DAY, DAY, cn.trust())
    assert summary is not None and summary["peer"] == "KZ" and summary["differences"] == 1
    assert summary["by_kind"] == {
        "sent_not_held": 1,
        "held_not_sent": 0,
        "digest_differs": 0,
        "lock_only": 0,
    }
    assert "KZ-R-1" not in repr(summary)  # counts only: the UI shows no record
    ours = read_manifest(
        build_manifest(store, "CN", DAY, DAY, cn.signer, now=datetime.now(UTC)), cn.trust()
    )
    assert ours.party == "CN" and ours.entries == []
    with pytest.raises(ReportError):
        read_manifest(b"\xd2\x84", cn.trust())
