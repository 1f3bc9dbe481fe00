"""The kit home: a node home of the Party the kit plays, plus test-only material.

Layout (under the home, next to the usual ``keys/``, ``certs/``, ``ca/`` and ``peers/``)::

    conformance/expired.{key,pem}    signing certificate that expired an hour before prepare
    conformance/revoked.{key,pem}    signing certificate on the kit CA's revocation list
    conformance/backdated.{key,pem}  signing certificate valid from a day before prepare
                                     (a message dated in the past must not fail on it)
    conformance/impostor/            a second CA of the same Party the peer never trusts
    conformance/carrier/             a carrier CA for the lock images the kit writes
    conformance/kit-trust.json       the trust bundle the peer imports (all signing certs
                                     above but the impostor's, and the CRL naming the revoked)

``prepare`` makes all of it once; the peer imports ``kit-trust.json`` (and, for the lock
scenario, trusts ``carrier/carrier-ca.pem``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519

from ctop_node.config import CONFIG_FILE, NodeConfig, sqlite_url, write_node_config
from ctop_node.crypto.interfaces import RecipientKey, Signer
from ctop_node.crypto.node import NodePaths, init_node
from ctop_node.crypto.pki import (
    CA_CERT,
    PartyCA,
    load_certificate,
    utcnow,
    write_pem,
    write_private_key,
)
from ctop_node.crypto.software import SoftwareDecryptor, SoftwareSigner
from ctop_node.crypto.trust import BundleTrustStore, TrustBundle, import_trust
from ctop_node.errors import ConfigError
from ctop_node.lock.carrier import CarrierCA, load_carrier, save_carrier

KIT_DIR = "conformance"
TRUST_FILE = "kit-trust.json"
EXTRA_SIGNERS = ("expired", "revoked", "backdated")


@dataclass(frozen=True)
class KitHome:
    """A prepared kit home; keys are read from disk at each use."""

    home: Path

    @property
    def dir(self) -> Path:
        return self.home / KIT_DIR

    @property
    def config(self) -> NodeConfig:
        return NodeConfig.load(self.home)

    @property
    def party(self) -> str:
        return self.config.party

    @property
    def paths(self) -> NodePaths:
        return NodePaths(self.home)

    @property
    def trust_file(self) -> Path:
        return self.dir / TRUST_FILE

    @property
    def carrier_dir(self) -> Path:
        return self.dir / "carrier"

    def check(self) -> KitHome:
        if not (self.trust_file.is_file() and (self.home / CONFIG_FILE).is_file()):
            raise ConfigError(
                f"{self.home} is not a prepared kit home: run `ctop-node conformance prepare`",
                code="conformance.home",
            )
        return self

    def signer(self, name: str = "node") -> Signer:
        """``node`` (the home's own key), one of EXTRA_SIGNERS, or ``impostor``."""
        if name == "node":
            return SoftwareSigner.from_home(self.home)
        if name == "impostor":
            return SoftwareSigner.from_home(self.dir / "impostor")
        return SoftwareSigner.from_files(self.dir / f"{name}.key", self.dir / f"{name}.pem")

    def decryptor(self) -> SoftwareDecryptor:
        return SoftwareDecryptor.from_home(self.home)

    def trust(self) -> BundleTrustStore:
        return BundleTrustStore.from_home(self.home)

    def peers(self) -> list[str]:
        peers = self.paths.peers
        return sorted(p.name for p in peers.iterdir() if p.is_dir()) if peers.is_dir() else []

    def peer_party(self, wanted: str | None = None) -> str:
        peers = self.peers()
        if wanted:
            if wanted.upper() not in peers:
                raise ConfigError(
                    f"no trust bundle of {wanted.upper()} in {self.home}: "
                    "`conformance prepare --peer-trust FILE` imports it",
                    code="conformance.peer",
                )
            return wanted.upper()
        if len(peers) != 1:
            raise ConfigError(
                f"{self.home} trusts {', '.join(peers) or 'no Party'}: name the peer with --peer",
                code="conformance.peer",
            )
        return peers[0]

    def recipient_key(self, party: str) -> RecipientKey:
        return self.trust().recipient_key(party)

    def carrier(self) -> CarrierCA:
        return load_carrier(self.carrier_dir)


def _backdated_ca(party: str, directory: Path, start: dt.datetime) -> None:
    """A new Party CA whose certificate is valid from ``start``: a message dated before the
    kit was prepared (the past clock-skew scenario) must not fail on the CA's dates."""
    ca = PartyCA.create(party, directory)
    old = ca.certificate
    builder = (
        x509.CertificateBuilder()
        .subject_name(old.subject)
        .issuer_name(old.issuer)
        .public_key(ca.key.public_key())
        .serial_number(old.serial_number)
        .not_valid_before(start)
        .not_valid_after(old.not_valid_after_utc)
    )
    for ext in old.extensions:
        builder = builder.add_extension(ext.value, critical=ext.critical)
    write_pem(directory / CA_CERT, builder.sign(ca.key, None))


def _extra_signer(ca: PartyCA, out: Path, name: str, start: dt.datetime, end: dt.datetime) -> int:
    key = ed25519.Ed25519PrivateKey.generate()
    cert = ca.issue_signing(
        key.public_key(), f"conformance {name}", not_before=start, not_after=end
    )
    write_private_key(out / f"{name}.key", key)
    write_pem(out / f"{name}.pem", cert)
    return int(cert.serial_number)


def prepare(
    home: Path,
    party: str,
    *,
    peer_trust: Path | None = None,
    peer_port: int = 0,
    api_port: int = 0,
    now: dt.datetime | None = None,
) -> KitHome:
    """Create (or complete) a kit home for ``party``; import ``peer_trust`` if given.

    An existing node home with its CA in ``home/ca`` is completed, not replaced.
    """
    now = now or utcnow()
    paths = NodePaths(home)
    if not paths.sign_key.exists():
        _backdated_ca(party, paths.ca_dir, now - 2 * dt.timedelta(days=1))
        init_node(home, party, ca_dir=paths.ca_dir, node=f"ctop-node conformance {party.upper()}")
    if not (paths.ca_dir / CA_CERT).is_file():
        raise ConfigError(
            f"{home} has node keys but no CA in {paths.ca_dir}: use a fresh kit home",
            code="conformance.home",
        )
    ca = PartyCA.load(paths.ca_dir)
    if not (home / CONFIG_FILE).is_file():
        write_node_config(
            home,
            {
                "party": ca.party,
                "db_url": sqlite_url(home),
                "peer_port": peer_port,
                "api_port": api_port,
                "node_name": f"ctop-node conformance {ca.party}",
            },
        )
    kit = KitHome(home)
    out = kit.dir
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "revoked.pem").is_file():
        hour, day = dt.timedelta(hours=1), dt.timedelta(days=1)
        _extra_signer(ca, out, "expired", now - 2 * hour, now - hour)
        serial = _extra_signer(ca, out, "revoked", now - hour, now + 365 * day)
        _extra_signer(ca, out, "backdated", now - day, now + 365 * day)
        write_pem(paths.crl, ca.revoke(serial))
    if not (out / "impostor" / "keys").is_dir():
        init_node(out / "impostor", ca.party, node=f"ctop-node conformance impostor {ca.party}")
    if not kit.carrier_dir.is_dir():
        save_carrier(CarrierCA.create(f"conformance carrier CA {ca.party}"), kit.carrier_dir)
    _write_bundle(kit, ca)
    if peer_trust is not None:
        import_trust(home, peer_trust, own_party=ca.party)
    return kit


def _write_bundle(kit: KitHome, ca: PartyCA) -> None:
    bundle = TrustBundle.from_home(kit.home, crl=ca.crl())
    extra = tuple(load_certificate(kit.dir / f"{n}.pem") for n in EXTRA_SIGNERS)
    bundle = dataclasses.replace(bundle, signing=(*bundle.signing, *extra))
    kit.trust_file.write_text(bundle.to_json(), "utf-8")
