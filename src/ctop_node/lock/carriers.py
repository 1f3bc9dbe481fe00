"""Carrier CAs the arrival node trusts for lock device certificates: ``HOME/carriers/*.pem``.

Customs decides which carriers' locks it accepts: ``ctop-node lock trust-carrier PEM`` copies
a carrier CA certificate there (named by its fingerprint); the lock reader trusts those plus
any given on the command line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ctop_node.lock.errors import LockFileError

CARRIERS_DIR = "carriers"


def load_ca(path: Path) -> x509.Certificate:
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except (OSError, ValueError, x509.ExtensionNotFound) as exc:
        raise LockFileError(
            f"{path} is not a carrier CA certificate: {exc}", code="lock.carrier.bad"
        ) from exc
    if not constraints.ca:
        raise LockFileError(f"{path} is not a CA certificate", code="lock.carrier.bad")
    return cert


def trust_carrier(home: Path, pem: Path) -> Path:
    """Add a carrier CA to the node's trusted carriers; returns where it was stored."""
    cert = load_ca(pem)
    der = cert.public_bytes(Encoding.DER)
    target = home / CARRIERS_DIR / f"{hashlib.sha256(der).hexdigest()[:16]}.pem"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(cert.public_bytes(Encoding.PEM))
    return target


def trusted_carriers(home: Path, extra: Iterable[Path] = ()) -> list[x509.Certificate]:
    paths = sorted((home / CARRIERS_DIR).glob("*.pem")) + list(extra)
    return [load_ca(p) for p in paths]
