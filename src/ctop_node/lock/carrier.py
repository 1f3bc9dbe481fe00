"""The carrier's side of lock provisioning: a carrier CA and the device certificates it issues.

A lock is carrier hardware: the carrier provisions its Ed25519 device key and certifies it.
The device certificate names the lock ID in its subject (CN and serialNumber), which is what
the log verifier checks against the lock ID it reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.x509.oid import NameOID

from ctop_node.lock.errors import LockFileError


@dataclass(frozen=True, slots=True)
class CarrierCA:
    key: Ed25519PrivateKey
    certificate: x509.Certificate

    @classmethod
    def create(cls, name: str, *, now: datetime | None = None, days: int = 3650) -> CarrierCA:
        now = now or datetime.now(UTC)
        key = Ed25519PrivateKey.generate()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .sign(key, None)
        )
        return cls(key, cert)

    def issue_device(
        self,
        lock_id: str,
        public_key: Ed25519PublicKey,
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> x509.Certificate:
        not_before = not_before or datetime.now(UTC) - timedelta(minutes=5)
        not_after = not_after or not_before + timedelta(days=5 * 365)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, lock_id),
                x509.NameAttribute(NameOID.SERIAL_NUMBER, lock_id),
            ]
        )
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=False), critical=True)
            .sign(self.key, None)
        )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


CA_CERT_FILE = "carrier-ca.pem"
CA_KEY_FILE = "carrier-ca.key"


def save_carrier(ca: CarrierCA, directory: Path) -> Path:
    """Write the CA certificate (shared with customs) and its key (kept by the carrier)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ca.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key_path = directory / CA_KEY_FILE
    key_path.write_bytes(key)
    key_path.chmod(0o600)
    cert_path = directory / CA_CERT_FILE
    cert_path.write_bytes(ca.certificate.public_bytes(serialization.Encoding.PEM))
    return cert_path


def load_carrier(directory: Path) -> CarrierCA:
    try:
        key = serialization.load_pem_private_key((directory / CA_KEY_FILE).read_bytes(), None)
        cert = x509.load_pem_x509_certificate((directory / CA_CERT_FILE).read_bytes())
    except (OSError, ValueError) as exc:
        raise LockFileError(
            f"no carrier CA in {directory}: {exc}", code="lock.carrier.missing"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey) or key.public_key() != cert.public_key():
        raise LockFileError(
            f"carrier CA key and certificate in {directory} do not match",
            code="lock.carrier.key",
        )
    return CarrierCA(key, cert)
