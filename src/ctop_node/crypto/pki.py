"""Party CA, node certificates and the revocation list, as PEM files on disk.

Profile (one for now): Ed25519 for the CA and for message signatures, X25519 for payload
encryption (its public key certified by the Party CA, keyUsage keyAgreement), ECDSA P-256 for
TLS (the most widely supported TLS key). National profiles (GOST R 34.10-2012, SM2) are
future work and would be another issuing profile behind the same contracts.

Every certificate names its Party in the SAN URI ``urn:ctop:party:<CODE>`` (see
``interfaces``). Node certificates are issued directly by the Party CA (no intermediates).
Private keys are written with mode 0600.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPublicKeyTypes,
    PrivateKeyTypes,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ctop_node.crypto.errors import PkiError
from ctop_node.crypto.interfaces import PARTY_URI_PREFIX
from ctop_node.crypto.names import (
    DEFAULT_TLS_DNS,
    DEFAULT_TLS_IPS,
    tls_names,
)

CA_KEY = "ca.key"
CA_CERT = "ca.pem"
CA_CRL = "crl.pem"
CA_DAYS = 3650
NODE_DAYS = 825
CRL_DAYS = 30

SubjectKey = ed25519.Ed25519PublicKey | x25519.X25519PublicKey | ec.EllipticCurvePublicKey
Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def check_party(party: str) -> str:
    code = party.strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise PkiError(
            f"Party code must be two letters (ISO 3166-1), got {party!r}", code="crypto.pki.party"
        )
    return code


def party_of(certificate: x509.Certificate) -> str | None:
    """The Party named by the certificate's SAN URI ``urn:ctop:party:XX``, if exactly one."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    uris = [
        u
        for u in san.value.get_values_for_type(x509.UniformResourceIdentifier)
        if u.startswith(PARTY_URI_PREFIX)
    ]
    return uris[0][len(PARTY_URI_PREFIX) :] if len(uris) == 1 else None


# -- files -------------------------------------------------------------------------------


def write_private_key(path: Path, key: PrivateKeyTypes) -> None:
    """PKCS#8 PEM, created with mode 0600 (never world-readable, even for a moment)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fh.fileno(), 0o600)  # the file may have existed with wider rights
        fh.write(data)


def load_private_key(path: Path) -> PrivateKeyTypes:
    try:
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise PkiError(
            f"cannot read private key {path}: {exc}", code="crypto.pki.key_file"
        ) from exc


def write_pem(path: Path, *objs: x509.Certificate | x509.CertificateRevocationList) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(b"".join(o.public_bytes(serialization.Encoding.PEM) for o in objs))
    tmp.replace(path)  # atomic: a reader never sees half a CRL


def load_certificate(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise PkiError(
            f"cannot read certificate {path}: {exc}", code="crypto.pki.cert_file"
        ) from exc


def load_crl(path: Path) -> x509.CertificateRevocationList:
    try:
        return x509.load_pem_x509_crl(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise PkiError(f"cannot read CRL {path}: {exc}", code="crypto.pki.crl_file") from exc


# -- the Party CA -------------------------------------------------------------------------


def _name(party: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, party),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"CTOP Party {party}"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


@dataclass(frozen=True)
class PartyCA:
    party: str
    key: ed25519.Ed25519PrivateKey
    certificate: x509.Certificate
    directory: Path
    clock: Clock = field(default=utcnow, compare=False)

    @classmethod
    def create(
        cls, party: str, directory: Path, *, days: int = CA_DAYS, clock: Clock = utcnow
    ) -> PartyCA:
        party = check_party(party)
        if (directory / CA_KEY).exists():
            raise PkiError(f"a CA already exists in {directory}", code="crypto.pki.exists")
        key = ed25519.Ed25519PrivateKey.generate()
        name = _name(party, f"CTOP Party CA {party}")
        now = clock()
        public = key.public_key()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.UniformResourceIdentifier(PARTY_URI_PREFIX + party)]
                ),
                critical=False,
            )
            .sign(key, None)
        )
        write_private_key(directory / CA_KEY, key)
        write_pem(directory / CA_CERT, cert)
        ca = cls(party, key, cert, directory, clock)
        write_pem(directory / CA_CRL, ca.make_crl([]))
        return ca

    @classmethod
    def load(cls, directory: Path, *, clock: Clock = utcnow) -> PartyCA:
        key = load_private_key(directory / CA_KEY)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise PkiError(
                f"{directory / CA_KEY} is not an Ed25519 key", code="crypto.pki.key_file"
            )
        cert = load_certificate(directory / CA_CERT)
        party = party_of(cert)
        if party is None:
            raise PkiError(f"{directory / CA_CERT} names no Party", code="crypto.pki.cert_file")
        return cls(party, key, cert, directory, clock)

    # -- issuing ---------------------------------------------------------------------------

    def _issue(
        self,
        public_key: SubjectKey,
        common_name: str,
        extensions: list[x509.ExtensionType],
        san: list[x509.GeneralName],
        *,
        not_before: dt.datetime | None,
        days: int,
        not_after: dt.datetime | None,
    ) -> x509.Certificate:
        start = not_before or self.clock() - dt.timedelta(minutes=5)
        end = not_after or start + dt.timedelta(days=days)
        # A certificate never outlives the CA that vouches for it.
        end = min(end, self.certificate.not_valid_after_utc)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(self.party, common_name))
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.UniformResourceIdentifier(PARTY_URI_PREFIX + self.party), *san]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._ca_public()),
                critical=False,
            )
        )
        for ext in extensions:
            builder = builder.add_extension(
                ext, critical=not isinstance(ext, x509.ExtendedKeyUsage)
            )
        return builder.sign(self.key, None)

    def _ca_public(self) -> CertificateIssuerPublicKeyTypes:
        return self.key.public_key()

    def issue_signing(
        self,
        public_key: ed25519.Ed25519PublicKey,
        node: str,
        *,
        days: int = NODE_DAYS,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
    ) -> x509.Certificate:
        """Message-signing certificate: keyUsage digitalSignature + nonRepudiation."""
        usage = _key_usage(digital_signature=True, content_commitment=True)
        return self._issue(
            public_key,
            f"{node} signing",
            [usage],
            [],
            not_before=not_before,
            days=days,
            not_after=not_after,
        )

    def issue_encryption(
        self,
        public_key: x25519.X25519PublicKey,
        node: str,
        *,
        days: int = NODE_DAYS,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
    ) -> x509.Certificate:
        """Certifies the node's X25519 key for HPKE: keyUsage keyAgreement only."""
        usage = _key_usage(key_agreement=True)
        return self._issue(
            public_key,
            f"{node} encryption",
            [usage],
            [],
            not_before=not_before,
            days=days,
            not_after=not_after,
        )

    def issue_tls(
        self,
        public_key: ec.EllipticCurvePublicKey,
        node: str,
        *,
        days: int = NODE_DAYS,
        dns: Sequence[str] = DEFAULT_TLS_DNS,
        ips: Sequence[str] = DEFAULT_TLS_IPS,
    ) -> x509.Certificate:
        """TLS server and client certificate (mTLS between nodes), valid for the host names
        ``dns`` and addresses ``ips`` under which the peer reaches this node."""
        eku = x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        )
        san = tls_names(dns, ips)
        return self._issue(
            public_key,
            f"{node} tls",
            [_key_usage(digital_signature=True), eku],
            san,
            not_before=None,
            days=days,
            not_after=None,
        )

    # -- revocation ------------------------------------------------------------------------

    def make_crl(
        self,
        revoked: list[x509.RevokedCertificate],
        *,
        days: int = CRL_DAYS,
        last_update: dt.datetime | None = None,
    ) -> x509.CertificateRevocationList:
        start = last_update or self.clock() - dt.timedelta(minutes=5)
        number = 1
        path = self.directory / CA_CRL
        if path.exists():  # CRL numbers only grow (RFC 5280 5.2.3): a peer refuses a rollback
            number = crl_number(load_crl(path)) + 1
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(start)
            .next_update(start + dt.timedelta(days=days))
            .add_extension(x509.CRLNumber(number), critical=False)
        )
        for entry in revoked:
            builder = builder.add_revoked_certificate(entry)
        return builder.sign(self.key, None)

    def crl(self) -> x509.CertificateRevocationList:
        return load_crl(self.directory / CA_CRL)

    def resign_crl(self, *, days: int = CRL_DAYS) -> x509.CertificateRevocationList:
        """The same revocations, signed again now with a new ``nextUpdate``: what keeps the
        peer accepting this Party's messages (it refuses them once the CRL is stale)."""
        crl = self.make_crl(list(self.crl()), days=days)
        write_pem(self.directory / CA_CRL, crl)
        return crl

    def revoke(self, serial: int) -> x509.CertificateRevocationList:
        """Add ``serial`` to the CRL and re-sign it (idempotent)."""
        current = list(self.crl())
        if not any(r.serial_number == serial for r in current):
            current.append(
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(self.clock())
                .build()
            )
        crl = self.make_crl(current)
        write_pem(self.directory / CA_CRL, crl)
        return crl


def crl_number(crl: x509.CertificateRevocationList) -> int:
    """The CRL's cRLNumber (0 when it has none: CRLs made before numbers were added)."""
    try:
        return int(crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number)
    except x509.ExtensionNotFound:
        return 0


def _key_usage(
    *,
    digital_signature: bool = False,
    content_commitment: bool = False,
    key_agreement: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=key_agreement,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
