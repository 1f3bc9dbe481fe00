"""A node's keys and certificates inside its home directory.

<home>/keys/sign.key   Ed25519 message-signing key      (0600)
<home>/keys/enc.key    X25519 payload-decryption key     (0600)
<home>/keys/tls.key    ECDSA P-256 TLS key               (0600)
<home>/certs/{sign,enc,tls}.pem   issued by the Party CA
<home>/certs/ca.pem, crl.pem      the own Party CA and its CRL (as of init / last refresh)
<home>/keys/retired/, certs/retired/  keys replaced by ``pki rotate``: kept until their
                                  certificates expire, so that messages in flight still verify
                                  at the peer and still decrypt here
<home>/peers/<PARTY>/             imported trust bundles (see ``trust``)
<home>/ca/                        the Party CA itself, when ``init`` created it here (the
                                  docs recommend keeping it off the node: ``crypto.csr``)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519

from ctop_node.crypto.errors import PkiError
from ctop_node.crypto.interfaces import kid_of
from ctop_node.crypto.names import DEFAULT_TLS_DNS, DEFAULT_TLS_IPS, tls_names
from ctop_node.crypto.pki import (
    CA_CERT,
    CA_CRL,
    Clock,
    PartyCA,
    check_party,
    load_certificate,
    utcnow,
    write_pem,
    write_private_key,
)


@dataclass(frozen=True)
class NodePaths:
    home: Path

    @property
    def keys(self) -> Path:
        return self.home / "keys"

    @property
    def certs(self) -> Path:
        return self.home / "certs"

    @property
    def peers(self) -> Path:
        return self.home / "peers"

    @property
    def ca_dir(self) -> Path:
        return self.home / "ca"

    @property
    def sign_key(self) -> Path:
        return self.keys / "sign.key"

    @property
    def sign_cert(self) -> Path:
        return self.certs / "sign.pem"

    @property
    def enc_key(self) -> Path:
        return self.keys / "enc.key"

    @property
    def enc_cert(self) -> Path:
        return self.certs / "enc.pem"

    @property
    def tls_key(self) -> Path:
        return self.keys / "tls.key"

    @property
    def tls_cert(self) -> Path:
        return self.certs / "tls.pem"

    @property
    def ca_cert(self) -> Path:
        return self.certs / CA_CERT

    @property
    def crl(self) -> Path:
        return self.certs / CA_CRL

    def peer_dir(self, party: str) -> Path:
        return self.peers / party

    @property
    def retired_keys(self) -> Path:
        return self.keys / "retired"

    @property
    def retired_certs(self) -> Path:
        return self.certs / "retired"

    def retired(self, role: str) -> list[tuple[Path, Path]]:
        """(key, certificate) pairs of ``role`` (``sign``/``enc``) replaced by a rotation."""
        if not self.retired_certs.is_dir():
            return []
        pairs = []
        for cert in sorted(self.retired_certs.glob(f"{role}-*.pem")):
            key = self.retired_keys / (cert.stem + ".key")
            if key.is_file():
                pairs.append((key, cert))
        return pairs

    def retired_certificates(self, role: str, at: dt.datetime) -> list[x509.Certificate]:
        """Retired certificates of ``role`` still valid at ``at`` (expired ones are dropped)."""
        out = []
        for _key, path in self.retired(role):
            cert = load_certificate(path)
            if cert.not_valid_after_utc >= at:
                out.append(cert)
        return out


def issue_node_keys(
    home: Path,
    ca: PartyCA,
    node: str,
    *,
    dns: Sequence[str] = DEFAULT_TLS_DNS,
    ips: Sequence[str] = DEFAULT_TLS_IPS,
) -> NodePaths:
    """Generate the node's three keys and have ``ca`` certify them; the TLS certificate
    names ``dns`` and ``ips`` (the names the peer will dial)."""
    tls_names(dns, ips)  # refuse a bad name before any key is written
    paths = NodePaths(home)
    sign = ed25519.Ed25519PrivateKey.generate()
    enc = x25519.X25519PrivateKey.generate()
    tls = ec.generate_private_key(ec.SECP256R1())
    write_private_key(paths.sign_key, sign)
    write_private_key(paths.enc_key, enc)
    write_private_key(paths.tls_key, tls)
    write_pem(paths.sign_cert, ca.issue_signing(sign.public_key(), node))
    write_pem(paths.enc_cert, ca.issue_encryption(enc.public_key(), node))
    write_pem(paths.tls_cert, ca.issue_tls(tls.public_key(), node, dns=dns, ips=ips))
    write_pem(paths.ca_cert, ca.certificate)
    write_pem(paths.crl, ca.crl())
    return paths


def init_node(
    home: Path,
    party: str,
    *,
    ca_dir: Path | None = None,
    node: str = "",
    dns: Sequence[str] = DEFAULT_TLS_DNS,
    ips: Sequence[str] = DEFAULT_TLS_IPS,
    clock: Clock = utcnow,
) -> PartyCA:
    """Keys and certificates for a new node; creates the Party CA in ``home/ca`` if no
    ``ca_dir`` is given. Returns the CA that issued them."""
    party = check_party(party)
    paths = NodePaths(home)
    if paths.sign_key.exists():
        raise PkiError(f"{home} already has node keys", code="crypto.pki.exists")
    tls_names(dns, ips)
    ca = (
        PartyCA.load(ca_dir, clock=clock)
        if ca_dir is not None
        else PartyCA.create(party, paths.ca_dir, clock=clock)
    )
    if ca.party != party:
        raise PkiError(
            f"the CA in {ca_dir} is of Party {ca.party}, not {party}", code="crypto.pki.party"
        )
    issue_node_keys(home, ca, node or f"ctop-node {party}", dns=dns, ips=ips)
    return ca


def _check_ca(home: Path, ca: PartyCA) -> NodePaths:
    paths = NodePaths(home)
    if load_certificate(paths.ca_cert) != ca.certificate:
        raise PkiError(
            f"the CA in {ca.directory} is not the CA of the node in {home}",
            code="crypto.pki.other_ca",
        )
    return paths


def reissue_tls(
    home: Path,
    ca: PartyCA,
    *,
    dns: Sequence[str],
    ips: Sequence[str],
    node: str = "",
) -> x509.Certificate:
    """A new TLS key and certificate for the names ``dns``/``ips`` (the old ones are
    replaced: the peer checks the TLS certificate against the Party CA, not the leaf)."""
    paths = _check_ca(home, ca)
    tls_names(dns, ips)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = ca.issue_tls(key.public_key(), node or f"ctop-node {ca.party}", dns=dns, ips=ips)
    write_private_key(paths.tls_key, key)
    write_pem(paths.tls_cert, cert)
    return cert


def retire(paths: NodePaths, role: str, key: Path, cert: Path) -> None:
    kid = kid_of(load_certificate(cert)).hex()
    paths.retired_keys.mkdir(mode=0o700, parents=True, exist_ok=True)
    paths.retired_certs.mkdir(parents=True, exist_ok=True)
    key.replace(paths.retired_keys / f"{role}-{kid}.key")
    cert.replace(paths.retired_certs / f"{role}-{kid}.pem")


def rotate_keys(home: Path, ca: PartyCA, *, node: str = "") -> tuple[bytes, bytes]:
    """New signing and encryption keys and certificates; the old ones move to
    ``retired/``, where they keep verifying and decrypting messages in flight until their
    certificates expire. Returns the new (signing kid, encryption kid)."""
    paths = _check_ca(home, ca)
    name = node or f"ctop-node {ca.party}"
    sign = ed25519.Ed25519PrivateKey.generate()
    enc = x25519.X25519PrivateKey.generate()
    sign_cert = ca.issue_signing(sign.public_key(), name)
    enc_cert = ca.issue_encryption(enc.public_key(), name)
    retire(paths, "sign", paths.sign_key, paths.sign_cert)
    retire(paths, "enc", paths.enc_key, paths.enc_cert)
    # key first: a reader that sees the new certificate finds its key
    write_private_key(paths.sign_key, sign)
    write_pem(paths.sign_cert, sign_cert)
    write_private_key(paths.enc_key, enc)
    write_pem(paths.enc_cert, enc_cert)
    return kid_of(sign_cert), kid_of(enc_cert)


def prune_retired(home: Path, at: dt.datetime) -> int:
    """Delete retired keys whose certificates expired before ``at``; how many pairs."""
    paths = NodePaths(home)
    removed = 0
    for role in ("sign", "enc"):
        for key, cert in paths.retired(role):
            if load_certificate(cert).not_valid_after_utc < at:
                key.unlink()
                cert.unlink()
                removed += 1
    return removed
