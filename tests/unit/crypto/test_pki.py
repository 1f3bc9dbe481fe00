"""Party CA, node certificates, CRL and key files."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import stat
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID

from ctop_node.crypto.errors import PkiError
from ctop_node.crypto.node import NodePaths, init_node
from ctop_node.crypto.pki import PartyCA, load_certificate, party_of
from tests._homes import Home


def test_private_keys_are_written_0600(kz: Home) -> None:
    paths = kz.paths
    for key in (paths.sign_key, paths.enc_key, paths.tls_key, paths.ca_dir / "ca.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    assert stat.S_IMODE(paths.keys.stat().st_mode) == 0o700


def test_ca_names_its_party_and_is_a_ca(kz: Home) -> None:
    ca = kz.ca.certificate
    assert party_of(ca) == "KZ"
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert isinstance(ca.public_key(), ed25519.Ed25519PublicKey)


def test_node_certificates_have_the_profile_extensions(kz: Home) -> None:
    paths = kz.paths
    sign = load_certificate(paths.sign_cert)
    usage = sign.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_agreement
    assert party_of(sign) == "KZ"
    san = sign.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "urn:ctop:party:KZ" in san.get_values_for_type(x509.UniformResourceIdentifier)

    enc = load_certificate(paths.enc_cert)
    assert enc.extensions.get_extension_for_class(x509.KeyUsage).value.key_agreement

    tls = load_certificate(paths.tls_cert)
    eku = tls.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    san = tls.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(i) for i in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    for cert in (sign, enc, tls):
        cert.verify_directly_issued_by(kz.ca.certificate)


def test_second_ca_in_same_dir_and_second_init_are_refused(kz: Home) -> None:
    with pytest.raises(PkiError) as err:
        PartyCA.create("KZ", kz.paths.ca_dir)
    assert err.value.code == "crypto.pki.exists"
    with pytest.raises(PkiError):
        init_node(kz.home, "KZ")


def test_init_with_a_ca_of_another_party_is_refused(kz: Home, tmp_path: Path) -> None:
    with pytest.raises(PkiError) as err:
        init_node(tmp_path / "other", "CN", ca_dir=kz.paths.ca_dir)
    assert err.value.code == "crypto.pki.party"


def test_init_with_existing_ca_issues_from_it(kz: Home, tmp_path: Path) -> None:
    init_node(tmp_path / "kz2", "KZ", ca_dir=kz.paths.ca_dir, node="kz-node-2")
    cert = load_certificate(NodePaths(tmp_path / "kz2").sign_cert)
    cert.verify_directly_issued_by(kz.ca.certificate)
    assert not (tmp_path / "kz2" / "ca").exists()


def test_revoke_adds_serial_once_and_crl_is_signed(kz: Home) -> None:
    ca = PartyCA.load(kz.paths.ca_dir)
    serial = load_certificate(kz.paths.sign_cert).serial_number
    ca.revoke(serial)
    crl = ca.revoke(serial)
    assert [r.serial_number for r in crl] == [serial]
    assert crl.is_signature_valid(ca.certificate.public_key())  # type: ignore[arg-type]
    assert ca.crl().get_revoked_certificate_by_serial_number(serial) is not None


def test_bad_party_code_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PkiError):
        PartyCA.create("KAZ", tmp_path / "ca")


def test_issue_with_past_validity(kz: Home) -> None:
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    key = ed25519.Ed25519PrivateKey.generate()
    cert = kz.ca.issue_signing(
        key.public_key(), "old", not_before=past, not_after=past + dt.timedelta(days=1)
    )
    assert cert.not_valid_after_utc < dt.datetime.now(dt.UTC)


def test_tls_certificates_work_for_mutual_tls_on_loopback(paired: tuple[Home, Home]) -> None:
    """The TLS profile (ECDSA leaf under an Ed25519 CA) is accepted by OpenSSL both ways."""
    kz, cn = paired
    server_ctx = ssl.create_default_context(
        ssl.Purpose.CLIENT_AUTH, cafile=str(kz.paths.peer_dir("CN") / "ca.pem")
    )
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    server_ctx.load_cert_chain(kz.paths.tls_cert, kz.paths.tls_key)
    client_ctx = ssl.create_default_context(cafile=str(cn.paths.peer_dir("KZ") / "ca.pem"))
    client_ctx.load_cert_chain(cn.paths.tls_cert, cn.paths.tls_key)

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    seen: dict[str, object] = {}

    def serve() -> None:
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            seen["peer"] = tls.getpeercert()
            tls.sendall(tls.recv(5))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        client_ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(b"hello")
        assert tls.recv(5) == b"hello"
    thread.join(timeout=10)
    listener.close()
    peer = seen["peer"]
    assert isinstance(peer, dict)
    assert ("URI", "urn:ctop:party:CN") in peer["subjectAltName"]


# -- TLS names, CRL numbers, fingerprints (issue 8) ---------------------------------------


def test_tls_certificate_names_the_given_hosts(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    from ctop_node.crypto.names import tls_names_of

    ca = PartyCA.create("KZ", tmp_path / "ca")
    key = ec.generate_private_key(ec.SECP256R1())
    cert = ca.issue_tls(
        key.public_key(), "n", dns=["cn-node", "CN-Node.example."], ips=["10.1.2.3"]
    )
    assert tls_names_of(cert) == (["cn-node", "cn-node.example"], ["10.1.2.3"])


def test_crl_numbers_grow_and_resign_moves_next_update(tmp_path: Path) -> None:
    from ctop_node.crypto.pki import crl_number
    from tests._clock import MovableClock

    clock = MovableClock()
    ca = PartyCA.create("KZ", tmp_path / "ca", clock=clock)
    first = ca.crl()
    clock.advance(days=20)
    second = ca.resign_crl()
    assert crl_number(second) == crl_number(first) + 1
    assert second.next_update_utc is not None and first.next_update_utc is not None
    assert second.next_update_utc - first.next_update_utc == dt.timedelta(days=20)
    ca.revoke(1234)
    third = ca.resign_crl(days=7)
    assert crl_number(third) == crl_number(first) + 3
    assert third.get_revoked_certificate_by_serial_number(1234) is not None  # kept


def test_node_certificate_never_outlives_its_ca(tmp_path: Path) -> None:
    ca = PartyCA.create("KZ", tmp_path / "ca", days=100)
    cert = ca.issue_signing(ed25519.Ed25519PrivateKey.generate().public_key(), "n")
    assert cert.not_valid_after_utc == ca.certificate.not_valid_after_utc
