"""``prepare`` makes the test-only material a peer must know, and refuses what is not a kit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ctop_node.conformance.kit import EXTRA_SIGNERS, KitHome, prepare
from ctop_node.crypto.errors import CertExpired, CertRevoked, UnknownKey
from ctop_node.crypto.pki import utcnow
from ctop_node.crypto.trust import TrustBundle
from ctop_node.errors import ConfigError
from tests.unit.conformance.conftest import KitPair


def test_the_peer_trusts_the_kit_and_judges_each_extra_certificate(kit_pair: KitPair) -> None:
    kit, cn = kit_pair.kit, kit_pair.cn
    bundle = TrustBundle.from_json(kit.trust_file.read_text("utf-8"))
    assert bundle.party == "KZ" and len(bundle.signing) == 1 + len(EXTRA_SIGNERS)
    trust, now = cn.trust(), utcnow()
    assert trust.verify_certificate(kit.signer().certificate, now).party == "KZ"
    with pytest.raises(CertExpired):
        trust.verify_certificate(kit.signer("expired").certificate, now)
    with pytest.raises(CertRevoked):
        trust.verify_certificate(kit.signer("revoked").certificate, now)
    # Valid a day back (with its CA), so a message dated 20 min ago is judged on its date.
    past = now - dt.timedelta(minutes=30)
    assert trust.verify_certificate(kit.signer("backdated").certificate, past).party == "KZ"
    with pytest.raises(UnknownKey):
        trust.certificate_for(kit.signer("impostor").kid)
    assert kit.peer_party() == "CN" and kit.party == "KZ"


def test_prepare_again_keeps_the_keys(kit_pair: KitPair, tmp_path: Path) -> None:
    kit = kit_pair.kit
    kid, revoked = kit.signer().kid, kit.signer("revoked").kid
    again = prepare(kit.home, "KZ")
    assert again.signer().kid == kid and again.signer("revoked").kid == revoked


def test_a_home_that_is_not_a_kit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        KitHome(tmp_path / "nothing").check()
    assert exc.value.code == "conformance.home"


def test_an_unknown_peer_is_named(kit_pair: KitPair) -> None:
    with pytest.raises(ConfigError) as exc:
        kit_pair.kit.peer_party("RU")
    assert exc.value.code == "conformance.peer" and "RU" in exc.value.message
