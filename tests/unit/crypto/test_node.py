"""Node homes: TLS names at init and reissue, key rotation with retired keys kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctop_node.crypto.errors import PkiError
from ctop_node.crypto.interfaces import kid_of
from ctop_node.crypto.names import tls_names_of
from ctop_node.crypto.node import NodePaths, init_node, prune_retired, reissue_tls, rotate_keys
from ctop_node.crypto.pki import PartyCA, load_certificate
from ctop_node.crypto.software import HomeDecryptor, SoftwareDecryptor
from tests._clock import MovableClock
from tests._homes import Home, make_home


def test_init_puts_the_given_names_in_the_tls_certificate(tmp_path: Path) -> None:
    init_node(tmp_path / "cn", "CN", dns=["cn-node"], ips=["127.0.0.2", "::1"])
    cert = load_certificate(NodePaths(tmp_path / "cn").tls_cert)
    assert tls_names_of(cert) == (["cn-node"], ["127.0.0.2", "::1"])


def test_init_with_a_bad_name_writes_no_key(tmp_path: Path) -> None:
    with pytest.raises(PkiError):
        init_node(tmp_path / "cn", "CN", dns=["not a host"])
    assert not NodePaths(tmp_path / "cn").sign_key.exists()


def test_reissue_tls_for_an_existing_home(kz: Home) -> None:
    before = load_certificate(kz.paths.tls_cert)
    cert = reissue_tls(kz.home, kz.ca, dns=["kz-node"], ips=["10.0.0.5"])
    assert tls_names_of(cert) == (["kz-node"], ["10.0.0.5"])
    assert load_certificate(kz.paths.tls_cert) == cert != before


def test_reissue_with_another_ca_is_refused(kz: Home, tmp_path: Path) -> None:
    other = PartyCA.create("KZ", tmp_path / "other-ca")
    with pytest.raises(PkiError) as err:
        reissue_tls(kz.home, other, dns=["kz-node"], ips=[])
    assert err.value.code == "crypto.pki.other_ca"


def test_rotation_retires_and_prunes(kz: Home) -> None:
    old_sign, old_enc = kz.signer.certificate, kz.decryptor.certificate
    live = HomeDecryptor(kz.home, interval=0.0)
    sign_kid, enc_kid = rotate_keys(kz.home, kz.ca)
    paths = NodePaths(kz.home)
    assert [c for _, c in paths.retired("sign")] == [
        paths.retired_certs / f"sign-{kid_of(old_sign).hex()}.pem"
    ]
    decryptor = SoftwareDecryptor.from_home(kz.home)
    assert decryptor.kid == enc_kid and decryptor.holds(kid_of(old_enc))
    assert live.kid == enc_kid and live.holds(kid_of(old_enc))  # a running node sees it
    assert (paths.retired_keys / f"enc-{kid_of(old_enc).hex()}.key").stat().st_mode & 0o077 == 0
    clock = MovableClock(old_sign.not_valid_after_utc)
    assert prune_retired(kz.home, clock.advance(seconds=1)) == 2
    assert paths.retired("sign") == [] and paths.retired("enc") == []
    assert kz.signer.kid == sign_kid


def test_two_rotations_keep_both_old_keys(tmp_path: Path) -> None:
    kz = make_home(tmp_path, "KZ")
    first = kz.decryptor.kid
    rotate_keys(kz.home, kz.ca)
    second = kz.decryptor.kid
    rotate_keys(kz.home, kz.ca)
    d = SoftwareDecryptor.from_home(kz.home)
    assert d.holds(first) and d.holds(second) and d.kid not in (first, second)
