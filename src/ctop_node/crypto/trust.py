"""Trust bundles exchanged between Parties, and the trust store built from them.

A bundle is one JSON file (``ctop-trust/1``) with PEM strings: the Party CA, its CRL, the
node signing certificates, the encryption certificate and the TLS certificates. Importing
checks that everything in it is issued by that CA for that Party, then stores it under
``<home>/peers/<PARTY>/`` (``bundle.json`` plus ``ca.pem`` and ``crl.pem`` for TLS settings).

Revocation and new certificates are learnt from a fresh bundle or, without any manual
step, from a signed trust update (``trust_update``). A revoked certificate is refused for
every message, whatever its ``created_at``: after a key compromise the dates in a message
prove nothing. An expired CRL fails closed (``crypto.crl_stale``): the Party that holds
the CA key re-signs it (``pki crl``) and the node pushes it.

The format is specified for other implementations in ``docs/protocol/trust.md``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.serialization import Encoding

from ctop_node.crypto._watch import FileWatch
from ctop_node.crypto.errors import (
    CertExpired,
    CertRevoked,
    PkiError,
    UnknownKey,
    UntrustedChain,
)
from ctop_node.crypto.interfaces import PeerIdentity, RecipientKey, kid_of
from ctop_node.crypto.names import fingerprint, normalise_fingerprint
from ctop_node.crypto.node import NodePaths
from ctop_node.crypto.pki import Clock, load_certificate, load_crl, party_of, utcnow, write_pem
from ctop_node.errors import CryptoError

log = logging.getLogger(__name__)

BUNDLE_FORMAT = "ctop-trust/1"
BUNDLE_FILE = "bundle.json"
MAX_BUNDLE_BYTES = 1024 * 1024  # a bundle is a few KiB; refuse anything absurd unread
MAX_SIGNING_CERTS = 16  # current + retired signing certificates
MAX_TLS_CERTS = 8


def _pem(obj: x509.Certificate | x509.CertificateRevocationList) -> str:
    return obj.public_bytes(Encoding.PEM).decode("ascii")


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _usage(cert: x509.Certificate) -> x509.KeyUsage | None:
    try:
        return cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None


@dataclass(frozen=True)
class TrustBundle:
    party: str
    ca: x509.Certificate
    crl: x509.CertificateRevocationList
    signing: tuple[x509.Certificate, ...]
    encryption: x509.Certificate
    tls: tuple[x509.Certificate, ...] = ()

    @classmethod
    def from_home(
        cls,
        home: Path,
        *,
        crl: x509.CertificateRevocationList | None = None,
        at: dt.datetime | None = None,
    ) -> TrustBundle:
        """The bundle a node publishes about its own Party: the current signing certificate
        first, then the retired ones still valid at ``at`` (messages signed before a
        rotation must keep verifying at the peer until those certificates expire)."""
        paths = NodePaths(home)
        ca = load_certificate(paths.ca_cert)
        party = party_of(ca)
        if party is None:
            raise PkiError(f"{paths.ca_cert} names no Party", code="crypto.pki.cert_file")
        retired = paths.retired_certificates("sign", at or utcnow())
        return cls(
            party=party,
            ca=ca,
            crl=crl or load_crl(paths.crl),
            signing=(load_certificate(paths.sign_cert), *retired[: MAX_SIGNING_CERTS - 1]),
            encryption=load_certificate(paths.enc_cert),
            tls=(load_certificate(paths.tls_cert),),
        )

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the Party CA certificate: what both Parties compare by phone. It
        does not change when the CRL or the node certificates do."""
        return fingerprint(self.ca)

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": BUNDLE_FORMAT,
                "party": self.party,
                "ca": _pem(self.ca),
                "crl": _pem(self.crl),
                "signing_certs": [_pem(c) for c in self.signing],
                "encryption_cert": _pem(self.encryption),
                "tls_certs": [_pem(c) for c in self.tls],
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> TrustBundle:
        if len(text) > MAX_BUNDLE_BYTES:
            raise PkiError(
                f"a trust bundle is at most {MAX_BUNDLE_BYTES} bytes", code="crypto.pki.bundle"
            )
        try:
            data: dict[str, Any] = json.loads(text)
            if not isinstance(data, dict) or data.get("format") != BUNDLE_FORMAT:
                raise ValueError(f"format is not {BUNDLE_FORMAT}")
            if (
                len(data["signing_certs"]) > MAX_SIGNING_CERTS
                or len(data.get("tls_certs", [])) > MAX_TLS_CERTS
            ):
                raise ValueError("too many certificates")

            def cert(pem: str) -> x509.Certificate:
                return x509.load_pem_x509_certificate(pem.encode("ascii"))

            bundle = cls(
                party=str(data["party"]),
                ca=cert(data["ca"]),
                crl=x509.load_pem_x509_crl(data["crl"].encode("ascii")),
                signing=tuple(cert(p) for p in data["signing_certs"]),
                encryption=cert(data["encryption_cert"]),
                tls=tuple(cert(p) for p in data.get("tls_certs", [])),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PkiError(f"not a trust bundle: {exc}", code="crypto.pki.bundle") from exc
        bundle.check()
        return bundle

    def check(self) -> None:
        """Everything in the bundle is issued by its CA for its Party; the CRL is the CA's."""

        def fail(why: str) -> PkiError:
            return PkiError(f"trust bundle of {self.party}: {why}", code="crypto.pki.bundle")

        if party_of(self.ca) != self.party or not _is_ca(self.ca):
            raise fail("the CA certificate is not a CA of that Party")
        try:
            self.ca.verify_directly_issued_by(self.ca)
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise fail("the CA certificate is not self-signed") from exc
        if not _crl_ok(self.crl, self.ca):
            raise fail("the CRL is not signed by the CA")
        for cert in (*self.signing, self.encryption, *self.tls):
            if party_of(cert) != self.party or not _issued_by(cert, self.ca):
                raise fail(f"{cert.subject.rfc4514_string()} is not issued by the Party CA")
        if not isinstance(self.encryption.public_key(), x25519.X25519PublicKey):
            raise fail("the encryption certificate is not for an X25519 key")


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _crl_ok(crl: x509.CertificateRevocationList, ca: x509.Certificate) -> bool:
    public = ca.public_key()
    return crl.issuer == ca.subject and crl.is_signature_valid(public)  # type: ignore[arg-type]


def export_trust(
    home: Path,
    out: Path,
    *,
    crl: x509.CertificateRevocationList | None = None,
) -> TrustBundle:
    bundle = TrustBundle.from_home(home, crl=crl)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(bundle.to_json(), "utf-8")
    return bundle


def import_trust(
    home: Path,
    source: Path,
    *,
    own_party: str | None = None,
    expect_fingerprint: str | None = None,
) -> TrustBundle:
    """Check and store a peer Party's bundle. ``expect_fingerprint`` (the CA fingerprint
    the other Party read out by phone) refuses a bundle whose CA is another one."""
    expected = None if expect_fingerprint is None else normalise_fingerprint(expect_fingerprint)
    try:
        with source.open("rb") as fh:
            text = fh.read(MAX_BUNDLE_BYTES + 1).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PkiError(f"cannot read {source}: {exc}", code="crypto.pki.bundle") from exc
    bundle = TrustBundle.from_json(text)
    if own_party is not None and bundle.party == own_party:
        raise PkiError(
            f"{source} is our own Party's bundle ({own_party})", code="crypto.pki.own_party"
        )
    if expected is not None and bundle.fingerprint != expected:
        raise PkiError(
            f"{source}: the CA of Party {bundle.party} has the SHA-256 fingerprint "
            f"{bundle.fingerprint}, not the expected {expected}; do not import it",
            code="crypto.pki.fingerprint_mismatch",
        )
    peer = NodePaths(home).peer_dir(bundle.party)
    pinned = peer / BUNDLE_FILE
    if pinned.is_file():
        held = TrustBundle.from_json(pinned.read_text("utf-8"))
        if held.fingerprint != bundle.fingerprint:
            if expected is None:
                # A new Party CA replaces the anchor of all trust in that Party: never
                # silently, only with the fingerprint confirmed out of band.
                raise PkiError(
                    f"{source} brings another CA for Party {bundle.party} ({bundle.fingerprint}) "
                    f"than the one pinned ({held.fingerprint}); confirm the new fingerprint "
                    "with the other Party and import with --expect-fingerprint",
                    code="crypto.pki.ca_changed",
                )
            (peer / "last-update.json").unlink(missing_ok=True)  # state of the old CA
    store_peer_bundle(home, bundle)
    return bundle


def store_peer_bundle(home: Path, bundle: TrustBundle) -> None:
    """Write a checked peer bundle under ``peers/<PARTY>/`` (each file replaced atomically;
    ``bundle.json`` last, it is what the trust store reads)."""
    peer = NodePaths(home).peer_dir(bundle.party)
    peer.mkdir(parents=True, exist_ok=True)
    write_pem(peer / "ca.pem", bundle.ca)
    write_pem(peer / "crl.pem", bundle.crl)
    tmp = peer / (BUNDLE_FILE + ".tmp")
    tmp.write_text(bundle.to_json(), "utf-8")
    tmp.replace(peer / BUNDLE_FILE)


def peer_bundles(home: Path) -> list[TrustBundle]:
    """Every imported peer bundle under ``peers/``."""
    paths = NodePaths(home)
    out = []
    if paths.peers.is_dir():
        for peer in sorted(paths.peers.iterdir()):
            file = peer / BUNDLE_FILE
            if file.is_file():
                out.append(TrustBundle.from_json(file.read_text("utf-8")))
    return out


@dataclass
class BundleTrustStore:
    """A :class:`~ctop_node.crypto.interfaces.TrustStore` over checked trust bundles."""

    bundles: dict[str, TrustBundle]
    clock: Clock = field(default=utcnow, repr=False)
    _by_kid: dict[bytes, x509.Certificate] = field(default_factory=dict, repr=False)
    # certificate -> (party, kid) once its issuance checked out: that check costs a signature
    _issued: dict[x509.Certificate, tuple[str, bytes]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for bundle in self.bundles.values():
            bundle.check()
            for cert in bundle.signing:
                usage = _usage(cert)
                if usage is not None and usage.digital_signature:
                    self._by_kid[kid_of(cert)] = cert

    @classmethod
    def of(cls, bundles: Iterable[TrustBundle], *, clock: Clock = utcnow) -> BundleTrustStore:
        return cls({b.party: b for b in bundles}, clock)

    @classmethod
    def from_home(cls, home: Path, *, clock: Clock = utcnow) -> BundleTrustStore:
        """Own Party (from ``certs/``) plus every imported peer under ``peers/``."""
        bundles = [TrustBundle.from_home(home, at=clock()), *peer_bundles(home)]
        return cls.of(bundles, clock=clock)

    def certificate_for(self, kid: bytes) -> x509.Certificate:
        try:
            return self._by_kid[kid]
        except KeyError:
            raise UnknownKey(f"no trusted signing certificate has kid {kid.hex()}") from None

    def verify_certificate(self, certificate: x509.Certificate, at: dt.datetime) -> PeerIdentity:
        party, kid = self._issuance(certificate)
        bundle = self.bundles[party]
        for cert in (bundle.ca, certificate):
            if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
                raise CertExpired(
                    f"{cert.subject.rfc4514_string()} is not valid at {at.isoformat()} "
                    f"(valid {cert.not_valid_before_utc.isoformat()} .. "
                    f"{cert.not_valid_after_utc.isoformat()})"
                )
        next_update = bundle.crl.next_update_utc
        if next_update is not None and next_update < self.clock():
            # Fail closed: an outdated CRL could hide a revocation. Refresh the peer's bundle.
            raise UntrustedChain(
                f"the CRL of Party {party} expired at {next_update.isoformat()}",
                code="crypto.crl_stale",
            )
        if bundle.crl.get_revoked_certificate_by_serial_number(certificate.serial_number):
            subject = certificate.subject.rfc4514_string()
            raise CertRevoked(f"{subject} (serial {certificate.serial_number}) is revoked")
        return PeerIdentity(party=bundle.party, kid=kid, certificate=certificate)

    def _issuance(self, certificate: x509.Certificate) -> tuple[str, bytes]:
        known = self._issued.get(certificate)
        if known is not None:
            return known
        party = party_of(certificate)
        bundle = self.bundles.get(party or "")
        subject = certificate.subject.rfc4514_string()
        if bundle is None:
            raise UntrustedChain(f"{subject}: no trusted CA for Party {party!r}")
        if _is_ca(certificate) or not _issued_by(certificate, bundle.ca):
            raise UntrustedChain(f"{subject} is not issued by the CA of Party {party}")
        known = self._issued[certificate] = (bundle.party, kid_of(certificate))
        return known

    def recipient_key(self, party: str) -> RecipientKey:
        bundle = self.bundles.get(party)
        if bundle is None:
            raise UnknownKey(f"no encryption key known for Party {party}")
        self.verify_certificate(bundle.encryption, self.clock())  # never to a revoked key
        key = bundle.encryption.public_key()
        if not isinstance(key, x25519.X25519PublicKey):  # TrustBundle.check refuses this
            raise UntrustedChain(f"the encryption key of Party {party} is not X25519")
        return RecipientKey(party=party, kid=kid_of(bundle.encryption), public_key=key)


class HomeTrustStore:
    """The :class:`BundleTrustStore` of a node home, read again when a file it comes from
    changes: a trust update received by the peer port, ``pki crl`` or ``pki rotate`` take
    effect in a running node (receiver and sender alike) within ``interval`` seconds."""

    def __init__(self, home: Path, *, clock: Clock = utcnow, interval: float = 1.0) -> None:
        self.home = home
        self.clock = clock
        paths = NodePaths(home)

        def files() -> list[Path]:
            peers = sorted(paths.peers.glob(f"*/{BUNDLE_FILE}")) if paths.peers.is_dir() else []
            retired = [c for _k, c in paths.retired("sign")]
            return [paths.ca_cert, paths.crl, paths.sign_cert, paths.enc_cert, *peers, *retired]

        self._watch = FileWatch(files, interval=interval)
        self._lock = threading.Lock()
        self._store = BundleTrustStore.from_home(home, clock=clock)

    @property
    def store(self) -> BundleTrustStore:
        if self._watch.changed():
            try:
                self.reload()
            except CryptoError as exc:  # half-edited by hand: keep what was checked
                log.error("trust files in %s do not check, kept the last good: %s", self.home, exc)
        return self._store

    def reload(self) -> None:
        """Read the home again now; raises (and keeps the old store) if it does not check."""
        with self._lock:
            self._watch.changed(force=True)
            self._store = BundleTrustStore.from_home(self.home, clock=self.clock)

    @property
    def bundles(self) -> dict[str, TrustBundle]:
        return self.store.bundles

    def certificate_for(self, kid: bytes) -> x509.Certificate:
        return self.store.certificate_for(kid)

    def verify_certificate(self, certificate: x509.Certificate, at: dt.datetime) -> PeerIdentity:
        return self.store.verify_certificate(certificate, at)

    def recipient_key(self, party: str) -> RecipientKey:
        return self.store.recipient_key(party)
