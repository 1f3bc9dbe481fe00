"""A node's keys and certificates inside its home directory.

<home>/keys/sign.key   Ed25519 message-signing key      (0600)
<home>/keys/enc.key    X25519 payload-decryption key     (0600)
<home>/keys/tls.key    ECDSA P-256 TLS key               (0600)
<home>/certs/{sign,enc,tls}.pem   issued by the Party CA
<home>/certs/ca.pem, crl.pem      the own Party CA and its CRL (as of init / last refresh)
<home>/peers/<PARTY>/             imported trust bundles (see ``trust``)
<home>/ca/                        the Party CA itself, when ``init`` created it here
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519

from ctop_node.crypto.errors import PkiError
from ctop_node.crypto.pki import (
    CA_CERT,
    CA_CRL,
    PartyCA,
    check_party,
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


def issue_node_keys(home: Path, ca: PartyCA, node: str) -> NodePaths:
    """Generate the node's three keys and have ``ca`` certify them."""
    paths = NodePaths(home)
    sign = ed25519.Ed25519PrivateKey.generate()
    enc = x25519.X25519PrivateKey.generate()
    tls = ec.generate_private_key(ec.SECP256R1())
    write_private_key(paths.sign_key, sign)
    write_private_key(paths.enc_key, enc)
    write_private_key(paths.tls_key, tls)
    write_pem(paths.sign_cert, ca.issue_signing(sign.public_key(), node))
    write_pem(paths.enc_cert, ca.issue_encryption(enc.public_key(), node))
    write_pem(paths.tls_cert, ca.issue_tls(tls.public_key(), node))
    write_pem(paths.ca_cert, ca.certificate)
    write_pem(paths.crl, ca.crl())
    return paths


def init_node(home: Path, party: str, *, ca_dir: Path | None = None, node: str = "") -> PartyCA:
    """Keys and certificates for a new node; creates the Party CA in ``home/ca`` if no
    ``ca_dir`` is given. Returns the CA that issued them."""
    party = check_party(party)
    paths = NodePaths(home)
    if paths.sign_key.exists():
        raise PkiError(f"{home} already has node keys", code="crypto.pki.exists")
    ca = PartyCA.load(ca_dir) if ca_dir is not None else PartyCA.create(party, paths.ca_dir)
    if ca.party != party:
        raise PkiError(
            f"the CA in {ca_dir} is of Party {ca.party}, not {party}", code="crypto.pki.party"
        )
    issue_node_keys(home, ca, node or f"ctop-node {party}")
    return ca
