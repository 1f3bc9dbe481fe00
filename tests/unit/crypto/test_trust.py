"""Trust bundles between a KZ and a CN home, and the trust store's certificate checks."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from ctop_node.crypto.errors import (
    CertExpired,
    CertRevoked,
    PkiError,
    UnknownKey,
    UntrustedChain,
)
from ctop_node.crypto.interfaces import TrustStore, kid_of
from ctop_node.crypto.pki import PartyCA, load_certificate
from ctop_node.crypto.trust import BundleTrustStore, TrustBundle, export_trust, import_trust
from tests._homes import Home, make_home

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(autouse=True)
def _fresh_now() -> None:
    # Each test's "now" is taken just before its CAs are made: a module-level time would be
    # minutes old by the end of a long run, older than the CAs' validity.
    global NOW
    NOW = dt.datetime.now(dt.UTC)


def test_store_fits_the_interface(paired: tuple[Home, Home]) -> None:
    assert isinstance(paired[0].trust(), TrustStore)


def test_export_import_between_kz_and_cn(paired: tuple[Home, Home]) -> None:
    kz, cn = paired
    peer = cn.paths.peer_dir("KZ")
    assert {p.name for p in peer.iterdir()} == {"bundle.json", "ca.pem", "crl.pem"}
    assert load_certificate(peer / "ca.pem") == kz.ca.certificate

    store = cn.trust()
    assert set(store.bundles) == {"KZ", "CN"}
    kz_sign = load_certificate(kz.paths.sign_cert)
    assert store.certificate_for(kid_of(kz_sign)) == kz_sign
    identity = store.verify_certificate(kz_sign, NOW)
    assert identity.party == "KZ" and identity.kid == kid_of(kz_sign)
    assert store.recipient_key("KZ").kid == kid_of(load_certificate(kz.paths.enc_cert))


def test_bundle_manifest_is_json_with_pem(kz: Home, tmp_path: Path) -> None:
    out = tmp_path / "kz.json"
    export_trust(kz.home, out)
    data = json.loads(out.read_text())
    assert data["format"] == "ctop-trust/1" and data["party"] == "KZ"
    assert data["ca"].startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE" not in out.read_text()


def test_importing_own_party_bundle_is_refused(kz: Home, tmp_path: Path) -> None:
    out = tmp_path / "kz.json"
    export_trust(kz.home, out)
    with pytest.raises(PkiError) as err:
        import_trust(kz.home, out, own_party="KZ")
    assert err.value.code == "crypto.pki.own_party"


def test_bundle_with_a_cert_from_another_ca_is_refused(kz: Home, cn: Home, tmp_path: Path) -> None:
    bundle = TrustBundle.from_home(kz.home)
    rogue = make_home(tmp_path / "rogue", "KZ")
    forged = TrustBundle(
        party="KZ",
        ca=bundle.ca,
        crl=bundle.crl,
        signing=(load_certificate(rogue.paths.sign_cert),),
        encryption=bundle.encryption,
    )
    out = tmp_path / "forged.json"
    out.write_text(forged.to_json())
    with pytest.raises(PkiError) as err:
        import_trust(cn.home, out, own_party="CN")
    assert err.value.code == "crypto.pki.bundle"
    assert not cn.paths.peer_dir("KZ").exists()


def test_garbage_bundle_is_refused(cn: Home, tmp_path: Path) -> None:
    out = tmp_path / "bad.json"
    for text in ("not json", "{}", '{"format": "ctop-trust/1", "party": "KZ", "ca": "x"}'):
        out.write_text(text)
        with pytest.raises(PkiError):
            import_trust(cn.home, out)


def test_unknown_kid(paired: tuple[Home, Home]) -> None:
    with pytest.raises(UnknownKey):
        paired[1].trust().certificate_for(b"\x00" * 8)


def test_cert_of_another_ca_claiming_the_party_is_untrusted(
    paired: tuple[Home, Home], tmp_path: Path
) -> None:
    rogue = make_home(tmp_path / "rogue", "KZ")
    with pytest.raises(UntrustedChain):
        paired[1].trust().verify_certificate(load_certificate(rogue.paths.sign_cert), NOW)


def test_cert_of_unknown_party_is_untrusted(paired: tuple[Home, Home], tmp_path: Path) -> None:
    ru = make_home(tmp_path, "RU")
    with pytest.raises(UntrustedChain):
        paired[1].trust().verify_certificate(load_certificate(ru.paths.sign_cert), NOW)


def test_ca_certificate_is_not_accepted_as_a_signer(paired: tuple[Home, Home]) -> None:
    kz, cn = paired
    with pytest.raises(UntrustedChain):
        cn.trust().verify_certificate(kz.ca.certificate, NOW)


def test_expiry_is_checked_at_the_given_time(paired: tuple[Home, Home]) -> None:
    kz, cn = paired
    past = NOW - dt.timedelta(minutes=4)  # inside the CA's own validity
    old = kz.ca.issue_signing(
        ed25519.Ed25519PrivateKey.generate().public_key(),
        "old",
        not_before=past,
        not_after=past + dt.timedelta(minutes=2),
    )
    store = cn.trust()
    with pytest.raises(CertExpired):
        store.verify_certificate(old, NOW)
    assert store.verify_certificate(old, past + dt.timedelta(minutes=1)).party == "KZ"
    current = load_certificate(kz.paths.sign_cert)
    with pytest.raises(CertExpired):
        store.verify_certificate(current, NOW + dt.timedelta(days=3650))


def test_revoked_after_bundle_refresh(paired: tuple[Home, Home], tmp_path: Path) -> None:
    kz, cn = paired
    sign = load_certificate(kz.paths.sign_cert)
    crl = PartyCA.load(kz.paths.ca_dir).revoke(sign.serial_number)
    assert cn.trust().verify_certificate(sign, NOW).party == "KZ"  # old CRL: not yet known
    out = tmp_path / "kz-refreshed.json"
    export_trust(kz.home, out, crl=crl)
    import_trust(cn.home, out, own_party="CN")
    with pytest.raises(CertRevoked):
        cn.trust().verify_certificate(sign, NOW)
    with pytest.raises(CertRevoked):  # nor do we encrypt to a revoked key
        kz_enc = load_certificate(kz.paths.enc_cert)
        PartyCA.load(kz.paths.ca_dir).revoke(kz_enc.serial_number)
        export_trust(kz.home, out, crl=PartyCA.load(kz.paths.ca_dir).crl())
        import_trust(cn.home, out, own_party="CN")
        cn.trust().recipient_key("KZ")


def test_stale_crl_fails_closed(paired: tuple[Home, Home]) -> None:
    kz, cn = paired
    store = cn.trust()
    bundle = store.bundles["KZ"]
    ca = PartyCA.load(kz.paths.ca_dir)
    stale = ca.make_crl([], days=1, last_update=NOW - dt.timedelta(days=2))
    store = BundleTrustStore.of(
        [
            TrustBundle(
                party="KZ",
                ca=bundle.ca,
                crl=stale,
                signing=bundle.signing,
                encryption=bundle.encryption,
            )
        ]
    )
    with pytest.raises(UntrustedChain) as err:
        store.verify_certificate(bundle.signing[0], NOW)
    assert err.value.code == "crypto.crl_stale"


def test_crl_signed_by_another_ca_is_refused(paired: tuple[Home, Home], tmp_path: Path) -> None:
    kz, _ = paired
    bundle = TrustBundle.from_home(kz.home)
    rogue = make_home(tmp_path / "rogue", "KZ")
    with pytest.raises(PkiError):
        BundleTrustStore.of(
            [
                TrustBundle(
                    party="KZ",
                    ca=bundle.ca,
                    crl=rogue.ca.crl(),
                    signing=bundle.signing,
                    encryption=bundle.encryption,
                )
            ]
        )


def test_home_trust_store_keeps_the_last_good_store(paired: tuple[Home, Home]) -> None:
    from ctop_node.crypto.trust import HomeTrustStore

    kz, cn = paired
    live = HomeTrustStore(cn.home, interval=0.0)
    kid = kz.signer.kid
    (cn.paths.peer_dir("KZ") / "bundle.json").write_text("{ half written", "utf-8")
    assert live.certificate_for(kid) == kz.signer.certificate  # still the checked bundle


def test_a_new_ca_for_a_pinned_party_needs_its_fingerprint(
    paired: tuple[Home, Home], tmp_path: Path
) -> None:
    kz, cn = paired
    rogue = make_home(tmp_path / "new", "KZ")
    out = tmp_path / "new-kz.json"
    bundle = export_trust(rogue.home, out)
    with pytest.raises(PkiError) as err:
        import_trust(cn.home, out, own_party="CN")
    assert err.value.code == "crypto.pki.ca_changed"
    assert cn.trust().bundles["KZ"].ca == kz.ca.certificate  # the pinned CA stays
    import_trust(cn.home, out, own_party="CN", expect_fingerprint=bundle.fingerprint)
    assert cn.trust().bundles["KZ"].ca == rogue.ca.certificate
