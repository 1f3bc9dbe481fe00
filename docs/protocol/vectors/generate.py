"""Generate (or check) the test vectors of the CTOP exchange protocol.

    .venv/bin/python docs/protocol/vectors/generate.py            # rewrite the vectors
    .venv/bin/python docs/protocol/vectors/generate.py --check    # verify, change nothing

Everything is deterministic except the HPKE encryption: keys come from fixed seeds,
certificates have fixed serials and dates (Ed25519 signatures are deterministic), message
ids and times are fixed. ``cryptography``'s HPKE API takes no ephemeral key, so each run
encrypts with a fresh one and the sealed bytes (body and signature) differ from run to run.
``--check`` therefore compares every deterministic part byte for byte (keys, certificates,
kids, header bytes, HPKE info, plaintext, digests, protected header) and checks the stored
sealed message by opening it: signature with the sender's certificate, the header bytes it
carries, decryption with the recipient's key to the stored plaintext.

THE KEYS ARE FOR TEST VECTORS ONLY. They are derived from public seeds: anyone can compute
them. Never trust a certificate under ``keys/`` outside these vectors.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.x509.oid import NameOID

from ctop_node.crypto.encryption import HPKE_SUITE, INFO_LABEL
from ctop_node.crypto.envelope import EnvelopeHeader, message_digest, seal
from ctop_node.crypto.interfaces import PARTY_URI_PREFIX, RecipientKey, kid_of
from ctop_node.crypto.software import SoftwareDecryptor, SoftwareSigner
from ctop_node.crypto.trust import BundleTrustStore, TrustBundle
from ctop_node.exchange.manifest import manifest_message, read_manifest, sign_manifest
from ctop_node.model.canonical import canonical_bytes, digest
from ctop_node.model.messages import (
    Cancellation,
    ControlResult,
    Discrepancy,
    MessageType,
    Receipt,
    Rejection,
    RejectionError,
)
from ctop_node.model.record import Consignment

HERE = Path(__file__).resolve().parent
SEED = "ctop-node protocol test vector v1 (public, test only)"
NOT_BEFORE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
NOT_AFTER = dt.datetime(2036, 1, 1, tzinfo=dt.UTC)
T0 = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)
PARTIES = ("KZ", "CN")


def _seed(*parts: str) -> bytes:
    return hashlib.sha256("/".join((SEED, *parts)).encode()).digest()


def _uuid(label: str) -> str:
    return str(uuid.UUID(bytes=_seed("uuid", label)[:16], version=4))


def _name(party: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, party),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"CTOP Party {party}"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _usage(*, sign: bool = False, agree: bool = False, ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=sign,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=agree,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass(frozen=True)
class PartyKeys:
    """One Party's test-only CA, signing and encryption keys and certificates."""

    party: str
    ca_key: ed25519.Ed25519PrivateKey
    ca: x509.Certificate
    sign_key: ed25519.Ed25519PrivateKey
    sign: x509.Certificate
    enc_key: x25519.X25519PrivateKey
    enc: x509.Certificate

    @property
    def signer(self) -> SoftwareSigner:
        return SoftwareSigner(self.sign_key, self.sign, kid_of(self.sign))

    @property
    def decryptor(self) -> SoftwareDecryptor:
        return SoftwareDecryptor(self.enc_key, self.enc, kid_of(self.enc))

    @property
    def recipient(self) -> RecipientKey:
        return RecipientKey(self.party, kid_of(self.enc), self.enc_key.public_key())

    def crl(self, now: dt.datetime) -> x509.CertificateRevocationList:
        """An empty CRL issued at ``now`` (a receiver wants a fresh one)."""
        return (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.ca.subject)
            .last_update(now - dt.timedelta(minutes=5))
            .next_update(now + dt.timedelta(days=30))
            .sign(self.ca_key, None)
        )


def party_keys(party: str) -> PartyKeys:
    ca_key = ed25519.Ed25519PrivateKey.from_private_bytes(_seed(party, "ca"))
    sign_key = ed25519.Ed25519PrivateKey.from_private_bytes(_seed(party, "signing"))
    enc_key = x25519.X25519PrivateKey.from_private_bytes(_seed(party, "encryption"))
    uri = x509.SubjectAlternativeName([x509.UniformResourceIdentifier(PARTY_URI_PREFIX + party)])
    ca_name = _name(party, f"TEST VECTOR ONLY CTOP Party CA {party}")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(int.from_bytes(_seed(party, "ca serial")[:8], "big") >> 1)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .add_extension(uri, critical=False)
        .sign(ca_key, None)
    )

    def issue(public: Any, role: str, usage: x509.KeyUsage) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(_name(party, f"TEST VECTOR ONLY {party.lower()}-node {role}"))
            .issuer_name(ca.subject)
            .public_key(public)
            .serial_number(int.from_bytes(_seed(party, role, "serial")[:8], "big") >> 1)
            .not_valid_before(NOT_BEFORE)
            .not_valid_after(NOT_AFTER)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(uri, critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .add_extension(usage, critical=True)
            .sign(ca_key, None)
        )

    return PartyKeys(
        party,
        ca_key,
        ca,
        sign_key,
        issue(sign_key.public_key(), "signing", _usage(sign=True)),
        enc_key,
        issue(enc_key.public_key(), "encryption", _usage(agree=True)),
    )


# -- the messages -----------------------------------------------------------------------------


def _record(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HERE / "canonical" / f"{name}.input.json").read_bytes())
    return data


def canonical_record(name: str) -> bytes:
    """The canonical JSON of ``canonical/<name>.input.json``."""
    return canonical_bytes(Consignment.model_validate(_record(name)))


@dataclass(frozen=True)
class Spec:
    """One vector before sealing: who, what, and the answer the receiver must give."""

    name: str
    description: str
    header: EnvelopeHeader
    payload: bytes
    expected: dict[str, Any] | None


def specs(now: dt.datetime | None = None) -> list[Spec]:
    """The vectors' messages; ``now`` moves every time (ids and contents stay)."""
    t0 = now or T0

    def head(n: int, mtype: MessageType, sender: str, **kw: Any) -> EnvelopeHeader:
        return EnvelopeHeader(
            message_id=_uuid(f"message {n}"),
            type=mtype,
            tc_version="1",
            sender=sender,
            recipient="CN" if sender == "KZ" else "KZ",
            created_at=t0 + dt.timedelta(seconds=n, microseconds=123456),
            **kw,
        )

    record = canonical_record("record")
    rid = json.loads(record)["record_id"]
    amended = _record("record")
    amended["transport_document"]["number"] = "SMGS-26-0009999"
    amendment = canonical_bytes(Consignment.model_validate(amended))
    invalid = _record("record")
    invalid["record_id"] = rid + "-BAD"
    invalid["goods"][0]["currency"] = "ZZZ"
    control = ControlResult(
        record_id=rid,
        version=2,
        arrived_at=dt.datetime(2026, 11, 26, 9, 30, tzinfo=dt.UTC),
        seal_status="intact",
        discrepancies=[Discrepancy(code="MASS", field="$.goods[0]", description="+12 kg")],
        released=True,
        office="ALASHANKOU",
        country="CN",
    )
    consignment = head(1, MessageType.CONSIGNMENT, "KZ", record_id=rid, version=1)
    manifest = _manifest(rid, record, consignment.message_id)

    def receipt(status: str) -> dict[str, Any]:
        return {"status": "receipt", "answer_type": "RECEIPT", "receipt_status": status}

    return [
        Spec(
            "consignment",
            "KZ sends version 1 of a record to CN",
            consignment,
            record,
            receipt("applied"),
        ),
        Spec(
            "amendment",
            "KZ sends version 2 of the same record (the whole record, transport document changed)",
            head(2, MessageType.AMENDMENT, "KZ", record_id=rid, version=2),
            amendment,
            receipt("applied"),
        ),
        Spec(
            "cancellation",
            "KZ cancels version 2 of the record",
            head(3, MessageType.CANCELLATION, "KZ", record_id=rid, version=2),
            canonical_bytes(Cancellation(record_id=rid, version=2, reason="export cancelled")),
            receipt("applied"),
        ),
        Spec(
            "rejected_consignment",
            "KZ sends a record with a currency not in ISO 4217: CN rejects it",
            head(4, MessageType.CONSIGNMENT, "KZ", record_id=invalid["record_id"], version=1),
            # Sorted, compact JSON: what a sender that does not validate would send.
            json.dumps(invalid, sort_keys=True, separators=(",", ":")).encode(),
            {
                "status": "rejection",
                "answer_type": "REJECTION",
                "errors": [{"code": "record.code_list.currency", "field": "$.goods[0].currency"}],
            },
        ),
        Spec(
            "control_result",
            "CN reports the result of its control of version 2 to KZ",
            head(5, MessageType.CONTROL_RESULT, "CN", record_id=rid, version=2),
            canonical_bytes(control),
            receipt("applied"),
        ),
        Spec(
            "manifest",
            "KZ sends CN its signed manifest of 2026-11-25 (Art.5), listing the consignment",
            head(8, MessageType.MANIFEST, "KZ"),
            manifest,
            receipt("applied"),
        ),
        Spec(
            "receipt",
            "CN's signed RECEIPT of the consignment vector (an answer: not answered)",
            head(
                6,
                MessageType.RECEIPT,
                "CN",
                record_id=rid,
                version=1,
                correlation_id=consignment.message_id,
            ),
            b"",  # filled in by build(): it names the consignment's sealed bytes
            None,
        ),
        Spec(
            "rejection",
            "CN's signed REJECTION of the rejected consignment (an answer: not answered)",
            head(
                7,
                MessageType.REJECTION,
                "CN",
                record_id=invalid["record_id"],
                version=1,
                correlation_id=_uuid("message 4"),
            ),
            b"",
            None,
        ),
    ]


def _manifest(record_id: str, record: bytes, message_id: str) -> bytes:
    """The MANIFEST payload: KZ's signed manifest of one day listing the consignment vector
    (Ed25519 and deterministic CBOR: the same bytes on every run)."""
    day = T0.date()
    row = ["out", "CN", record_id, 1, digest(record), "online", message_id, T0.isoformat()]
    kz = party_keys("KZ")
    signed = sign_manifest("KZ", day, day, [row], kz.signer, now=T0)
    trust = BundleTrustStore.of(
        [TrustBundle(party="KZ", ca=kz.ca, crl=kz.crl(T0), signing=(kz.sign,), encryption=kz.enc)]
    )
    return canonical_bytes(manifest_message(signed, read_manifest(signed, trust, at=T0)))


def _answer_payload(spec: Spec, sealed: dict[str, bytes], names: dict[str, str]) -> bytes:
    answered = sealed[names[spec.header.correlation_id or ""]]
    if spec.header.type is MessageType.RECEIPT:
        payload: Receipt | Rejection = Receipt(
            message_id=spec.header.correlation_id or "",
            message_digest=message_digest(answered),
            status="applied",
            stored_at=spec.header.created_at - dt.timedelta(seconds=1),
        )
    else:
        payload = Rejection(
            message_id=spec.header.correlation_id or "",
            message_digest=message_digest(answered),
            errors=[
                RejectionError(
                    code="record.code_list.currency",
                    field="$.goods[0].currency",
                    message="'ZZZ' is not an ISO 4217 currency code",
                )
            ],
        )
    return canonical_bytes(payload)


def seal_all(
    now: dt.datetime | None = None, answered: dict[str, bytes] | None = None
) -> list[tuple[Spec, bytes]]:
    """Every vector sealed with the test keys (a fresh HPKE ephemeral key each time).

    The RECEIPT and REJECTION vectors name the digest of the message they answer: of the
    sealed bytes in ``answered`` (by vector name) when given, else of this run's."""
    keys = {p: party_keys(p) for p in PARTIES}
    out: list[tuple[Spec, bytes]] = []
    sealed: dict[str, bytes] = dict(answered or {})
    names: dict[str, str] = {}
    for spec in specs(now):
        if not spec.payload:
            spec = replace(spec, payload=_answer_payload(spec, sealed, names))
        head = spec.header
        raw = seal(head, spec.payload, keys[head.sender].signer, keys[head.recipient].recipient)
        sealed.setdefault(spec.name, raw)
        names[head.message_id] = spec.name
        out.append((spec, raw))
    return out


def _pem(obj: Any) -> str:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM).decode()
    return str(
        obj.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
    )


def key_files() -> dict[str, str]:
    """keys/<name>: PEM text of every test key and certificate."""
    files: dict[str, str] = {}
    for p in PARTIES:
        k = party_keys(p)
        files[f"{p}-ca.pem"] = _pem(k.ca)
        files[f"{p}-signing.pem"] = _pem(k.sign)
        files[f"{p}-signing.key.pem"] = _pem(k.sign_key)
        files[f"{p}-encryption.pem"] = _pem(k.enc)
        files[f"{p}-encryption.key.pem"] = _pem(k.enc_key)
    return files


def describe(spec: Spec, raw: bytes) -> dict[str, Any]:
    """The JSON document of one vector: every intermediate value, hex for bytes."""
    keys = {p: party_keys(p) for p in PARTIES}
    head = spec.header
    protected, _, content, _ = cbor2.loads(raw).value
    header_bytes = cbor2.loads(content)["h"]
    return {
        "name": spec.name,
        "description": spec.description,
        "test_only_keys": "derived from public seeds in generate.py: NEVER trust them",
        "type": head.type.value,
        "sender": head.sender,
        "recipient": head.recipient,
        "keys": {
            "sender_ca": f"keys/{head.sender}-ca.pem",
            "sender_signing_cert": f"keys/{head.sender}-signing.pem",
            "sender_signing_key": f"keys/{head.sender}-signing.key.pem",
            "recipient_encryption_cert": f"keys/{head.recipient}-encryption.pem",
            "recipient_encryption_key": f"keys/{head.recipient}-encryption.key.pem",
        },
        "kid": kid_of(keys[head.sender].sign).hex(),
        "rkid": kid_of(keys[head.recipient].enc).hex(),
        "protected_hex": protected.hex(),
        "header": cbor2.loads(header_bytes) | {"rkid": kid_of(keys[head.recipient].enc).hex()},
        "header_bytes_hex": header_bytes.hex(),
        "hpke_suite": "RFC 9180 base mode: KEM 0x0020 X25519, KDF 0x0001 HKDF-SHA256, "
        "AEAD 0x0002 AES-256-GCM",
        "hpke_info_hex": (INFO_LABEL + header_bytes).hex(),
        "hpke_aad_hex": "",
        "plaintext": spec.payload.decode(),
        "plaintext_sha256": hashlib.sha256(spec.payload).hexdigest(),
        "sealed_message_file": f"{spec.name}.cbor",
        "sealed_message_sha256": message_digest(raw),
        "expected_answer": spec.expected,
    }


# Fields that change with each run's HPKE ephemeral key (see the module docstring).
RANDOM_FIELDS = frozenset({"sealed_message_sha256"})


def build(out: Path = HERE) -> list[dict[str, Any]]:
    """Write every vector, its sealed bytes and the test keys to ``out``."""
    (out / "keys").mkdir(parents=True, exist_ok=True)
    for name, text in key_files().items():
        (out / "keys" / name).write_text(text)
    docs = []
    for spec, raw in seal_all():
        doc = describe(spec, raw)
        (out / f"{spec.name}.cbor").write_bytes(raw)
        (out / f"{spec.name}.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        docs.append(doc)
    for name in ("record", "record-minimal"):
        canonical = canonical_record(name)
        (out / "canonical" / f"{name}.canonical.json").write_bytes(canonical)
        (out / "canonical" / f"{name}.sha256").write_text(hashlib.sha256(canonical).hexdigest())
    return docs


def open_stored(doc: dict[str, Any], where: Path = HERE) -> bytes:
    """Check a stored sealed message against its vector; return the plaintext."""
    raw = (where / doc["sealed_message_file"]).read_bytes()
    keys = party_keys(doc["recipient"]), party_keys(doc["sender"])
    tag = cbor2.loads(raw)
    protected, _, content, signature = tag.value
    sig_structure = cbor2.dumps(["Signature1", protected, b"", content])
    public = keys[1].sign.public_key()
    assert isinstance(public, ed25519.Ed25519PublicKey)
    public.verify(signature, sig_structure)  # raises InvalidSignature
    inner = cbor2.loads(content)
    if inner["h"].hex() != doc["header_bytes_hex"]:
        raise ValueError(f"{doc['name']}: the sealed header is not header_bytes")
    info = bytes.fromhex(doc["hpke_info_hex"])
    plaintext = HPKE_SUITE.decrypt(inner["p"], keys[0].enc_key, info=info)
    if plaintext != doc["plaintext"].encode():
        raise ValueError(f"{doc['name']}: decrypts to another plaintext")
    return plaintext


def check(where: Path = HERE) -> list[str]:
    """Differences between the stored vectors and a fresh generation (empty: all good)."""
    problems = []
    for name, text in key_files().items():
        path = where / "keys" / name
        if not path.is_file() or path.read_text() != text:
            problems.append(f"keys/{name} differs")
    stored_raw = {p.stem: p.read_bytes() for p in where.glob("*.cbor")}
    for spec, raw in seal_all(answered=stored_raw):
        path = where / f"{spec.name}.json"
        if not path.is_file():
            problems.append(f"{spec.name}.json is missing")
            continue
        stored = json.loads(path.read_text())
        fresh = describe(spec, raw)
        for key in sorted(set(stored) | set(fresh)):
            if key not in RANDOM_FIELDS and stored.get(key) != fresh.get(key):
                problems.append(f"{spec.name}.json: {key} differs")
        try:
            open_stored(stored, where)
        except Exception as exc:  # any failure to open is a finding, reported by name
            problems.append(f"{spec.name}.cbor does not open: {type(exc).__name__}: {exc}")
        if message_digest((where / f"{spec.name}.cbor").read_bytes()) != stored.get(
            "sealed_message_sha256"
        ):
            problems.append(f"{spec.name}.cbor is not the file its vector names")
    for name in ("record", "record-minimal"):
        canonical = canonical_record(name)
        if (where / "canonical" / f"{name}.canonical.json").read_bytes() != canonical:
            problems.append(f"canonical/{name}.canonical.json differs")
        if (where / "canonical" / f"{name}.sha256").read_text() != hashlib.sha256(
            canonical
        ).hexdigest():
            problems.append(f"canonical/{name}.sha256 differs")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify, change nothing")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        for p in problems:
            print(p, file=sys.stderr)
        print("vectors: " + ("OK" if not problems else f"{len(problems)} problem(s)"))
        return 1 if problems else 0
    docs = build()
    print(f"wrote {len(docs)} vectors to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
