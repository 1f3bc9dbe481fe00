"""The Party CA kept off the node: request, sign at the CA, install; rotation the same way;
CRLs re-signed at the CA and installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ctop_node.crypto.csr import (
    install_crl,
    install_issued,
    make_request,
    read_request,
    sign_request,
)
from ctop_node.crypto.errors import PkiError
from ctop_node.crypto.names import tls_names_of
from ctop_node.crypto.node import NodePaths
from ctop_node.crypto.pki import PartyCA, crl_number, load_certificate, load_crl, write_pem
from ctop_node.crypto.software import SoftwareDecryptor, SoftwareSigner
from ctop_node.crypto.trust import BundleTrustStore


@pytest.fixture
def offline(tmp_path: Path) -> tuple[PartyCA, Path]:
    ca = PartyCA.create("KZ", tmp_path / "offline-ca")
    home = tmp_path / "kz"
    make_request(home, "KZ", tmp_path / "req.json", dns=("kz-node",), ips=("10.0.0.5",))
    answer = tmp_path / "issued.json"
    sign_request(ca, tmp_path / "req.json", answer)
    install_issued(home, answer)
    return ca, home


def test_a_node_made_from_a_request_works_without_the_ca_key(
    offline: tuple[PartyCA, Path],
) -> None:
    ca, home = offline
    paths = NodePaths(home)
    assert not paths.ca_dir.exists()  # the CA key never was on the node
    signer = SoftwareSigner.from_home(home)  # keys match their certificates
    SoftwareDecryptor.from_home(home)
    BundleTrustStore.from_home(home).verify_certificate(signer.certificate, ca.clock())
    assert tls_names_of(load_certificate(paths.tls_cert)) == (["kz-node"], ["10.0.0.5"])


def test_a_request_of_another_party_is_refused(tmp_path: Path) -> None:
    ca = PartyCA.create("CN", tmp_path / "ca")
    make_request(tmp_path / "kz", "KZ", tmp_path / "req.json")
    with pytest.raises(PkiError) as err:
        sign_request(ca, tmp_path / "req.json", tmp_path / "out.json")
    assert err.value.code == "crypto.pki.party"


def test_an_encryption_key_not_bound_to_the_signing_key_is_refused(tmp_path: Path) -> None:
    make_request(tmp_path / "a", "KZ", tmp_path / "a.json")
    make_request(tmp_path / "b", "KZ", tmp_path / "b.json")
    a = json.loads((tmp_path / "a.json").read_text())
    a["encryption_key"] = json.loads((tmp_path / "b.json").read_text())["encryption_key"]
    (tmp_path / "a.json").write_text(json.dumps(a))
    with pytest.raises(PkiError) as err:
        read_request(tmp_path / "a.json")
    assert "encryption_pop" in err.value.message


def test_an_answer_for_other_keys_is_refused(tmp_path: Path) -> None:
    ca = PartyCA.create("KZ", tmp_path / "ca")
    make_request(tmp_path / "a", "KZ", tmp_path / "a.json")
    make_request(tmp_path / "b", "KZ", tmp_path / "b.json")
    sign_request(ca, tmp_path / "b.json", tmp_path / "b-issued.json")
    with pytest.raises(PkiError) as err:
        install_issued(tmp_path / "a", tmp_path / "b-issued.json")
    assert err.value.code == "crypto.pki.key_mismatch"


def test_rotation_through_a_request(offline: tuple[PartyCA, Path], tmp_path: Path) -> None:
    ca, home = offline
    old = SoftwareSigner.from_home(home).kid
    make_request(home, "KZ", tmp_path / "rot.json", keys_dir=NodePaths(home).keys / "next")
    sign_request(ca, tmp_path / "rot.json", tmp_path / "rot-issued.json")
    done = install_issued(home, tmp_path / "rot-issued.json")
    assert done.rotated
    assert SoftwareSigner.from_home(home).kid != old
    assert [p.name for _, p in NodePaths(home).retired("sign")] == [f"sign-{old.hex()}.pem"]


def test_crl_from_the_offline_ca(offline: tuple[PartyCA, Path], tmp_path: Path) -> None:
    ca, home = offline
    before = crl_number(load_crl(NodePaths(home).crl))
    write_pem(tmp_path / "crl.pem", ca.resign_crl())
    install_crl(home, tmp_path / "crl.pem")
    assert crl_number(load_crl(NodePaths(home).crl)) == before + 1
    other = PartyCA.create("KZ", tmp_path / "rogue")
    write_pem(tmp_path / "rogue.pem", other.crl())
    with pytest.raises(PkiError):
        install_crl(home, tmp_path / "rogue.pem")
