"""The kit's messages open at the peer, and each spoiler is caught by the check it targets
(real keys, ctop-node's own ``open_`` as the peer)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest

from ctop_node.conformance import messages, records
from ctop_node.conformance.messages import Sent
from ctop_node.crypto.envelope import open_
from ctop_node.errors import CryptoError
from tests.unit.conformance.conftest import KitPair


def _v1(pair: KitPair, **options: object) -> Sent:
    data = records.record("KZ-CONF-T-1", "KZ", "CN")
    return pair.sealer().record(data, 1, records.body(data), **options)


def _open(pair: KitPair, sent: Sent) -> None:
    open_(sent.raw, pair.cn.trust(), pair.cn.decryptor, "CN")


def test_a_kit_message_opens_at_the_peer(kit_pair: KitPair) -> None:
    sent = _v1(kit_pair, skew=timedelta(minutes=20))
    opened = open_(sent.raw, kit_pair.cn.trust(), kit_pair.cn.decryptor, "CN")
    assert opened.header.message_id == sent.message_id and opened.signer.party == "KZ"
    assert opened.header.record_id == "KZ-CONF-T-1" and opened.header.version == 1
    assert opened.payload == records.body(records.record("KZ-CONF-T-1", "KZ", "CN"))


Spoiler = Callable[[KitPair, Sent], Sent]
SPOILERS: list[tuple[str, Spoiler, str]] = [
    ("payload", lambda p, s: messages.tamper_payload(s), "crypto.bad_signature"),
    ("header", lambda p, s: messages.tamper_header(s, {"version": 2}), "crypto.bad_signature"),
    ("signature", lambda p, s: messages.forge_signature(s), "crypto.bad_signature"),
    ("truncated", lambda p, s: messages.truncate(s), "crypto.malformed"),
    (
        "resigned",
        lambda p, s: p.sealer().resigned(s, {"correlation_id": str(uuid.uuid4())}),
        "crypto.decrypt",
    ),
    (
        "recipient",
        lambda p, s: p.sealer().resigned(s, {"recipient": "RU"}),
        "crypto.wrong_recipient",
    ),
]


@pytest.mark.parametrize(
    ("spoiler", "code"), [(f, c) for _, f, c in SPOILERS], ids=[n for n, *_ in SPOILERS]
)
def test_each_spoiler_is_caught_by_its_check(
    kit_pair: KitPair, spoiler: Spoiler, code: str
) -> None:
    with pytest.raises(CryptoError) as exc:
        _open(kit_pair, spoiler(kit_pair, _v1(kit_pair)))
    assert exc.value.code == code


@pytest.mark.parametrize(
    ("signer", "code"),
    [
        ("expired", "crypto.cert_expired"),
        ("revoked", "crypto.cert_revoked"),
        ("impostor", "crypto.unknown_key"),
    ],
)
def test_test_signers_are_refused(kit_pair: KitPair, signer: str, code: str) -> None:
    with pytest.raises(CryptoError) as exc:
        _open(kit_pair, _v1(kit_pair, signer=signer))
    assert exc.value.code == code
