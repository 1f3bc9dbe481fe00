"""Keeping the Party CA key off the node: certificate requests and their answers.

The node makes its keys and a request file; the CA operator signs it on the offline CA
machine; the node installs the answer. The private keys never leave the node and the CA
key never touches it (``docs/protocol/trust.md``, "Offline Party CA")::

    node:  ctop-node init --party KZ --csr kz-request.json --dns kz-node --ip 10.0.0.5
    CA:    ctop-node pki sign kz-request.json --ca /media/kz-ca --out kz-issued.json
    node:  ctop-node pki install kz-issued.json

Request (``ctop-csr/1``, JSON): ``party``, ``node_name``, ``signing_csr`` and ``tls_csr``
(PKCS#10 PEM, each signed by its own key: proof of possession), ``encryption_key`` (X25519
SubjectPublicKeyInfo PEM: X25519 cannot sign a CSR) and ``encryption_pop`` (base64 Ed25519
signature by the requested signing key over ``"ctop-csr/1 encryption key\\0" || SPKI DER``).
The TLS names are the subjectAltName of ``tls_csr``.

Answer (``ctop-issued/1``, JSON): ``party``, ``ca``, ``crl``, ``signing_cert``,
``encryption_cert``, ``tls_cert`` (PEM). A rotation uses the same files: ``pki rotate
--csr`` puts the new keys in ``keys/next/`` and ``pki install`` swaps them in.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ctop_node.crypto.errors import PkiError
from ctop_node.crypto.names import DEFAULT_TLS_DNS, DEFAULT_TLS_IPS, tls_names, tls_names_of
from ctop_node.crypto.node import NodePaths, retire
from ctop_node.crypto.pki import (
    PartyCA,
    check_party,
    crl_number,
    load_certificate,
    load_crl,
    load_private_key,
    party_of,
    write_pem,
    write_private_key,
)

REQUEST_FORMAT = "ctop-csr/1"
ISSUED_FORMAT = "ctop-issued/1"
POP_LABEL = b"ctop-csr/1 encryption key\x00"
MAX_FILE_BYTES = 256 * 1024


def _pem(
    obj: x509.Certificate | x509.CertificateRevocationList | x509.CertificateSigningRequest,
) -> str:
    return obj.public_bytes(Encoding.PEM).decode("ascii")


def _fail(why: str, code: str = "crypto.pki.request") -> PkiError:
    return PkiError(why, code=code)


def _read_json(path: Path, fmt: str) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise ValueError(f"over {MAX_FILE_BYTES} bytes")
        data = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise _fail(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != fmt:
        raise _fail(f"{path} is not a {fmt} file")
    return data


def _subject(party: str, cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(x509.NameOID.COUNTRY_NAME, party),
            x509.NameAttribute(x509.NameOID.COMMON_NAME, cn),
        ]
    )


def make_request(
    home: Path,
    party: str,
    out: Path,
    *,
    node: str = "",
    dns: tuple[str, ...] = DEFAULT_TLS_DNS,
    ips: tuple[str, ...] = DEFAULT_TLS_IPS,
    keys_dir: Path | None = None,
) -> Path:
    """New signing, encryption and TLS keys in ``keys_dir`` (default ``HOME/keys``) and the
    request for them at ``out``. Returns ``out``."""
    party = check_party(party)
    names = tls_names(dns, ips)
    keys = keys_dir or NodePaths(home).keys
    if (keys / "sign.key").exists():
        raise _fail(f"{keys} already has keys", code="crypto.pki.exists")
    node = node or f"ctop-node {party}"
    sign = ed25519.Ed25519PrivateKey.generate()
    enc = x25519.X25519PrivateKey.generate()
    tls = ec.generate_private_key(ec.SECP256R1())
    sign_csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_subject(party, f"{node} signing"))
        .sign(sign, None)
    )
    tls_csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_subject(party, f"{node} tls"))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(tls, _sha256())
    )
    spki = enc.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    request = {
        "format": REQUEST_FORMAT,
        "party": party,
        "node_name": node,
        "signing_csr": _pem(sign_csr),
        "tls_csr": _pem(tls_csr),
        "encryption_key": enc.public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii"),
        "encryption_pop": base64.b64encode(sign.sign(POP_LABEL + spki)).decode("ascii"),
    }
    write_private_key(keys / "sign.key", sign)
    write_private_key(keys / "enc.key", enc)
    write_private_key(keys / "tls.key", tls)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(request, indent=2) + "\n", "utf-8")
    return out


def _sha256() -> Any:
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


@dataclass(frozen=True)
class Request:
    party: str
    node_name: str
    signing: x509.CertificateSigningRequest
    tls: x509.CertificateSigningRequest
    encryption: x25519.X25519PublicKey

    @property
    def tls_dns(self) -> list[str]:
        ext = self.tls.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        return list(ext.value.get_values_for_type(x509.DNSName))

    @property
    def tls_ips(self) -> list[str]:
        ext = self.tls.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        return [str(i) for i in ext.value.get_values_for_type(x509.IPAddress)]


def read_request(path: Path) -> Request:
    """Parse and check a request: both CSR signatures, the encryption key's binding to the
    signing key, the key types and the TLS names."""
    data = _read_json(path, REQUEST_FORMAT)
    try:
        party = check_party(str(data["party"]))
        node = str(data["node_name"])[:120]
        sign_csr = x509.load_pem_x509_csr(data["signing_csr"].encode("ascii"))
        tls_csr = x509.load_pem_x509_csr(data["tls_csr"].encode("ascii"))
        enc = serialization.load_pem_public_key(data["encryption_key"].encode("ascii"))
        pop = base64.b64decode(data["encryption_pop"], validate=True)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise _fail(f"{path}: not a valid request ({exc})") from exc
    sign_pub = sign_csr.public_key()
    if not isinstance(sign_pub, ed25519.Ed25519PublicKey) or not sign_csr.is_signature_valid:
        raise _fail(f"{path}: signing_csr is not a self-signed Ed25519 request")
    if not isinstance(tls_csr.public_key(), ec.EllipticCurvePublicKey) or not (
        tls_csr.is_signature_valid
    ):
        raise _fail(f"{path}: tls_csr is not a self-signed ECDSA request")
    if not isinstance(enc, x25519.X25519PublicKey):
        raise _fail(f"{path}: encryption_key is not an X25519 key")
    spki = enc.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    try:
        sign_pub.verify(pop, POP_LABEL + spki)
    except InvalidSignature as exc:
        raise _fail(f"{path}: encryption_pop does not verify with the signing key") from exc
    request = Request(party, node, sign_csr, tls_csr, enc)
    try:
        tls_names(request.tls_dns, request.tls_ips)
    except x509.ExtensionNotFound as exc:
        raise _fail(f"{path}: tls_csr names no host (subjectAltName)") from exc
    return request


def sign_request(ca: PartyCA, request_path: Path, out: Path) -> Request:
    """At the (offline) Party CA: issue the three certificates of a request and write the
    answer with the CA certificate and its current CRL."""
    request = read_request(request_path)
    if request.party != ca.party:
        raise _fail(
            f"{request_path} is a request of Party {request.party}; this CA is {ca.party}",
            code="crypto.pki.party",
        )
    sign_pub = request.signing.public_key()
    tls_pub = request.tls.public_key()
    if not isinstance(sign_pub, ed25519.Ed25519PublicKey) or not isinstance(
        tls_pub, ec.EllipticCurvePublicKey
    ):  # read_request checked both; this keeps the types honest
        raise _fail(f"{request_path}: wrong key types")
    answer = {
        "format": ISSUED_FORMAT,
        "party": ca.party,
        "ca": _pem(ca.certificate),
        "crl": _pem(ca.crl()),
        "signing_cert": _pem(ca.issue_signing(sign_pub, request.node_name)),
        "encryption_cert": _pem(ca.issue_encryption(request.encryption, request.node_name)),
        "tls_cert": _pem(
            ca.issue_tls(tls_pub, request.node_name, dns=request.tls_dns, ips=request.tls_ips)
        ),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(answer, indent=2) + "\n", "utf-8")
    return request


def _raw(public: object) -> bytes:
    if isinstance(public, ec.EllipticCurvePublicKey):
        return public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    raw = getattr(public, "public_bytes_raw", None)
    return bytes(raw()) if raw is not None else b""


def _key_pub(path: Path) -> bytes:
    key = load_private_key(path)
    return _raw(key.public_key())


@dataclass(frozen=True)
class Installed:
    party: str
    rotated: bool
    tls_dns: list[str]
    tls_ips: list[str]


def install_issued(home: Path, issued_path: Path) -> Installed:
    """Install an answer of :func:`sign_request`: the certificates must be of the CA the node
    already has (if any), issued by it, and match the node's keys (``keys/`` for a new node,
    ``keys/next/`` for a rotation, which then retires the current keys)."""
    data = _read_json(issued_path, ISSUED_FORMAT)
    paths = NodePaths(home)
    try:
        ca = x509.load_pem_x509_certificate(data["ca"].encode("ascii"))
        crl = x509.load_pem_x509_crl(data["crl"].encode("ascii"))
        certs = {
            role: x509.load_pem_x509_certificate(data[f"{role}_cert"].encode("ascii"))
            for role in ("signing", "encryption", "tls")
        }
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise _fail(f"{issued_path}: not a valid answer ({exc})") from exc
    if paths.ca_cert.exists() and load_certificate(paths.ca_cert) != ca:
        raise _fail(
            f"{issued_path} is issued by another CA than the node's ({paths.ca_cert})",
            code="crypto.pki.other_ca",
        )
    party = party_of(ca)
    for role, cert in certs.items():
        try:
            cert.verify_directly_issued_by(ca)
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise _fail(f"{issued_path}: the {role} certificate is not issued by its CA") from exc
        if party_of(cert) != party:
            raise _fail(f"{issued_path}: the {role} certificate is not of Party {party}")
    if crl.issuer != ca.subject or not crl.is_signature_valid(ca.public_key()):  # type: ignore[arg-type]
        raise _fail(f"{issued_path}: the CRL is not signed by its CA")
    files = {"signing": "sign.key", "encryption": "enc.key", "tls": "tls.key"}
    next_dir = paths.keys / "next"
    target = None
    for keys in (paths.keys, next_dir):
        if all(
            (keys / f).is_file() and _key_pub(keys / f) == _raw(certs[r].public_key())
            for r, f in files.items()
        ):
            target = keys
            break
    if target is None:
        raise _fail(
            f"{issued_path}: the certificates do not match this node's keys "
            f"(in {paths.keys} or {next_dir})",
            code="crypto.pki.key_mismatch",
        )
    rotated = target == next_dir and paths.sign_cert.exists()
    if rotated:
        retire(paths, "sign", paths.sign_key, paths.sign_cert)
        retire(paths, "enc", paths.enc_key, paths.enc_cert)
    if target == next_dir:
        for f in files.values():
            (next_dir / f).replace(paths.keys / f)
    write_pem(paths.sign_cert, certs["signing"])
    write_pem(paths.enc_cert, certs["encryption"])
    write_pem(paths.tls_cert, certs["tls"])
    write_pem(paths.ca_cert, ca)
    if not paths.crl.exists() or crl_number(crl) >= crl_number(load_crl(paths.crl)):
        write_pem(paths.crl, crl)
    dns, ips = tls_names_of(certs["tls"])
    return Installed(str(party), rotated, dns, ips)


def install_crl(home: Path, source: Path) -> x509.CertificateRevocationList:
    """Install a CRL re-signed at the offline CA (``pki crl --ca DIR --out FILE``): signed by
    the node's Party CA and not older than the CRL held."""
    paths = NodePaths(home)
    try:
        crl = x509.load_pem_x509_crl(source.read_bytes()[: MAX_FILE_BYTES + 1])
    except (OSError, ValueError) as exc:
        raise _fail(f"cannot read the CRL {source}: {exc}", code="crypto.pki.crl_file") from exc
    ca = load_certificate(paths.ca_cert)
    if crl.issuer != ca.subject or not crl.is_signature_valid(ca.public_key()):  # type: ignore[arg-type]
        raise _fail(f"{source} is not signed by the node's Party CA", code="crypto.pki.crl_file")
    if paths.crl.exists() and crl_number(crl) < crl_number(load_crl(paths.crl)):
        raise _fail(f"{source} is older than the CRL installed", code="crypto.pki.crl_file")
    write_pem(paths.crl, crl)
    return crl
