"""Names in certificates: the TLS subjectAltNames a peer dials, and the SHA-256 fingerprint
of a certificate as people read it out by phone (``docs/protocol/trust.md``, section 1)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from ctop_node.crypto.errors import PkiError

DEFAULT_TLS_DNS = ("localhost",)
DEFAULT_TLS_IPS = ("127.0.0.1",)


def fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 over the DER of ``certificate``, lower-case hex pairs joined by ``:``."""
    return certificate.fingerprint(hashes.SHA256()).hex(":")


def normalise_fingerprint(text: str) -> str:
    """``AB:CD..``, ``abcd..`` or ``ab cd ..`` -> ``ab:cd:..`` (for comparison); ``PkiError``
    when it is not 32 bytes of hex."""
    digits = "".join(ch for ch in text.lower() if ch not in ": -")
    try:
        raw = bytes.fromhex(digits)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise PkiError(
            f"a SHA-256 fingerprint is 64 hex digits, got {text[:80]!r}",
            code="crypto.pki.fingerprint_format",
        )
    return raw.hex(":")


def tls_names(
    dns: Sequence[str] = DEFAULT_TLS_DNS, ips: Sequence[str] = DEFAULT_TLS_IPS
) -> list[x509.GeneralName]:
    """The subjectAltName entries of a TLS certificate; ``PkiError`` names a bad one."""
    names: list[x509.GeneralName] = []
    for name in dns:
        label = name.strip().lower().rstrip(".")
        try:
            ipaddress.ip_address(label)
            is_ip = True
        except ValueError:
            is_ip = False
        if (
            is_ip
            or not label
            or len(label) > 253
            or not all(
                0 < len(part) <= 63 and part.replace("-", "").replace("*", "").isalnum()
                for part in label.split(".")
            )
        ):
            raise PkiError(
                f"--dns {name[:80]!r} is not a host name (use --ip for addresses)",
                code="crypto.pki.tls_name",
            )
        names.append(x509.DNSName(label))
    for addr in ips:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(addr.strip())))
        except ValueError as exc:
            raise PkiError(
                f"--ip {addr[:80]!r} is not an IPv4 or IPv6 address", code="crypto.pki.tls_name"
            ) from exc
    if not names:
        raise PkiError(
            "a TLS certificate needs at least one --dns or --ip", code="crypto.pki.tls_name"
        )
    return names


def tls_names_of(certificate: x509.Certificate) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) in a certificate's subjectAltName."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    return (
        list(san.get_values_for_type(x509.DNSName)),
        [str(ip) for ip in san.get_values_for_type(x509.IPAddress)],
    )
