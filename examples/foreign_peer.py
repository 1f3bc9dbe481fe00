"""A foreign CTOP peer in one file, written from docs/protocol/ only.

It imports nothing from ctop-node: cryptography (Ed25519, X25519, HPKE, X.509), cbor2 and
httpx. Playing the sending Party, it sends a CONSIGNMENT, an AMENDMENT and a CANCELLATION
of one record, then an AMENDMENT of the cancelled record and a record with a currency not in
ISO 4217 (both must be rejected with their documented codes) to a CTOP node, verifies each
signed answer (docs/protocol/online.md, "What the sender does with the answers") and prints
what came back. Exit status 0 when every answer is the one the protocol says.

    python examples/foreign_peer.py --url https://cn-node:8443 --party KZ \\
        --peer-bundle cn-trust.json --sign-key sign.key --sign-cert sign.pem \\
        --enc-key enc.key --tls-key tls.key --tls-cert tls.pem
"""

from __future__ import annotations

import argparse
import hashlib
import json
import ssl
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cbor2
import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

# envelope.md: the HPKE suite, the info label (20 bytes, the last 0x00), an empty AAD.
SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
SUITE_NAME = "HPKE-Base-X25519-SHA256-AES256GCM"
INFO_LABEL = b"ctop-node/payload/1\x00"
MESSAGES = "/ctop/v1/messages"


def kid(cert: x509.Certificate) -> bytes:
    """First 8 bytes of SHA-256 over the certificate's DER."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()[:8]


def canonical(data: Any) -> bytes:
    """records.md: sorted keys, no whitespace, UTF-8 unescaped (the values are canonical)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def utc_now() -> str:
    """envelope.md: RFC 3339 in UTC with microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class Peer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.party = args.party
        sign_key = serialization.load_pem_private_key(args.sign_key.read_bytes(), None)
        enc_key = serialization.load_pem_private_key(args.enc_key.read_bytes(), None)
        if not isinstance(sign_key, ed25519.Ed25519PrivateKey):
            raise SystemExit(f"{args.sign_key} is not an Ed25519 key")
        if not isinstance(enc_key, x25519.X25519PrivateKey):
            raise SystemExit(f"{args.enc_key} is not an X25519 key")
        self.sign_key, self.enc_key = sign_key, enc_key
        self.sign_cert = x509.load_pem_x509_certificate(args.sign_cert.read_bytes())
        self.enc_kid = kid(x509.load_pem_x509_certificate(args.enc_cert.read_bytes()))
        bundle = json.loads(args.peer_bundle.read_text())  # trust.md, ctop-trust/1
        self.peer = bundle["party"]
        self.peer_ca = x509.load_pem_x509_certificate(bundle["ca"].encode())
        signing = [x509.load_pem_x509_certificate(p.encode()) for p in bundle["signing_certs"]]
        self.peer_signing = {kid(c): c for c in signing}
        self.peer_enc = x509.load_pem_x509_certificate(bundle["encryption_cert"].encode())
        peer_key = self.peer_enc.public_key()
        if not isinstance(peer_key, x25519.X25519PublicKey):
            raise SystemExit("the peer's encryption certificate is not for an X25519 key")
        self.peer_key = peer_key
        tls = ssl.create_default_context(cadata=bundle["ca"])
        tls.load_cert_chain(args.tls_cert, args.tls_key)
        self.http = httpx.Client(base_url=args.url, verify=tls, timeout=30)

    def seal(self, mtype: str, payload: bytes, **fields: Any) -> tuple[str, bytes]:
        """envelope.md, "Sealing, step by step"."""
        header = {
            "message_id": str(uuid.uuid4()),
            "type": mtype,
            "tc_version": "1",
            "sender": self.party,
            "recipient": self.peer,
            "created_at": utc_now(),
            "payload_digest": hashlib.sha256(payload).hexdigest(),
            "enc": SUITE_NAME,
            "rkid": kid(self.peer_enc),
            **fields,
        }
        header_bytes = cbor2.dumps(header, canonical=True)
        body = SUITE.encrypt(payload, self.peer_key, info=INFO_LABEL + header_bytes)
        content = cbor2.dumps({"h": header_bytes, "p": body}, canonical=True)
        protected = cbor2.dumps({1: -8, 4: kid(self.sign_cert)}, canonical=True)
        signature = self.sign_key.sign(cbor2.dumps(["Signature1", protected, b"", content]))
        message = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, content, signature]))
        return header["message_id"], message

    def open_answer(self, raw: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
        """Verify a signed answer from the peer (envelope.md, "Opening"); header, payload."""
        protected, unprotected, content, signature = cbor2.loads(raw).value
        alg_kid = cbor2.loads(protected)
        if unprotected != {} or alg_kid.get(1) != -8:
            raise ValueError("not the COSE_Sign1 profile of the protocol")
        cert = self.peer_signing[alg_kid[4]]  # KeyError: not a signing key of the peer
        cert.verify_directly_issued_by(self.peer_ca)
        public = cert.public_key()
        assert isinstance(public, ed25519.Ed25519PublicKey)
        public.verify(signature, cbor2.dumps(["Signature1", protected, b"", content]))
        inner = cbor2.loads(content)
        header = cbor2.loads(inner["h"])
        if header["sender"] != self.peer or header["recipient"] != self.party:
            raise ValueError("the answer is not from our peer to us")
        if header["rkid"] != self.enc_kid:
            raise ValueError("the answer is encrypted to another key")
        plaintext = SUITE.decrypt(inner["p"], self.enc_key, info=INFO_LABEL + inner["h"])
        if hashlib.sha256(plaintext).hexdigest() != header["payload_digest"]:
            raise ValueError("the answer's payload does not match its digest")
        payload: dict[str, Any] = json.loads(plaintext)
        return header, payload

    def send(self, batch: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
        """online.md: POST the batch, check every signed answer against what we sent."""
        body = cbor2.dumps([m for _, m in batch])
        r = self.http.post(MESSAGES, content=body, headers={"content-type": "application/cbor"})
        r.raise_for_status()
        results = []
        for (message_id, message), item in zip(batch, cbor2.loads(r.content), strict=True):
            result = {"status": item["status"], "code": item["code"] or None}
            if item["answer"] is not None:
                header, payload = self.open_answer(item["answer"])
                wanted = "RECEIPT" if item["status"] == "receipt" else "REJECTION"
                digest = payload.get("message_digest")
                if (
                    header["type"] != wanted
                    or header["correlation_id"] != message_id
                    or payload["message_id"] != message_id
                    or digest != hashlib.sha256(message).hexdigest()
                ):
                    raise ValueError(f"the answer to {message_id} does not answer it")
                result["receipt_status"] = payload.get("status")
                result["errors"] = [e["code"] for e in payload.get("errors", [])]
            results.append(result)
        return results


def sample_record(record_id: str, sender: str, recipient: str) -> dict[str, Any]:
    """A record in canonical values (records.md): decimals with their places, defaults set."""
    return {
        "record_id": record_id,
        "sender_party": sender,
        "declaration": {
            "number": "55180/281126/0000042",
            "date": "2026-11-28",
            "customs_office": "55180",
            "procedure": "export",
        },
        "exporter": {"name": "TOO Foreign Peer Export", "country": sender},
        "consignee": {"name": "Foreign Peer Import Co.", "country": recipient},
        "carrier": {"name": "KTZ Express JSC", "country": sender},
        "train": {
            "number": "1042",
            "departure_station": {"code": "690007", "country": sender},
            "crossing_point": "DOSTYK-ALASHANKOU",
            "planned_crossing_at": "2026-11-29T14:30:00Z",
        },
        "wagons": [{"number": "52000510", "gauge": "1520"}],
        "containers": [
            {
                "number": "CSQU3054383",
                "wagon_number": "52000510",
                "size_type": "45G1",
                "gross_mass_kg": "28500.000",
                "seals": ["KZ7654321"],
            }
        ],
        "goods": [
            {
                "container_number": "CSQU3054383",
                "hs_code": "100199",
                "description": "Wheat, other than durum",
                "packages": 1,
                "gross_mass_kg": "24000.000",
                "net_mass_kg": "23950.500",
                "value": "6240.00",
                "currency": "USD",
            }
        ],
        "route": {
            "dispatch_country": sender,
            "destination_country": recipient,
            "transit_countries": [],
        },
        "transport_document": {"type": "SMGS", "number": "SMGS-26-0004242"},
        "flags": {"personal_use": False, "postal_item": False, "state_secret": False},
        "channel": "online",
    }


def run(peer: Peer) -> tuple[list[dict[str, Any]], bool]:
    rid = f"{peer.party}-FOREIGN-{uuid.uuid4().hex[:8].upper()}"
    v1 = sample_record(rid, peer.party, peer.peer)
    v2 = json.loads(json.dumps(v1))
    v2["transport_document"]["number"] = "SMGS-26-0004243"
    v3 = json.loads(json.dumps(v1))
    v3["transport_document"]["number"] = "SMGS-26-0004244"
    bad = json.loads(json.dumps(v1))
    bad["record_id"] = rid + "-BAD"
    bad["goods"][0]["currency"] = "ZZZ"
    cancel = {"record_id": rid, "version": 2, "reason": "export cancelled by the declarant"}
    steps = [  # (name, type, payload, header fields, expected status, expected detail)
        ("consignment", "CONSIGNMENT", v1, {"record_id": rid, "version": 1}, "receipt", "applied"),
        ("amendment", "AMENDMENT", v2, {"record_id": rid, "version": 2}, "receipt", "applied"),
        (
            "cancellation",
            "CANCELLATION",
            cancel,
            {"record_id": rid, "version": 2},
            "receipt",
            "applied",
        ),
        (
            "amendment after cancellation",
            "AMENDMENT",
            v3,
            {"record_id": rid, "version": 3},
            "rejection",
            "exchange.cancelled",
        ),
        (
            "bad currency",
            "CONSIGNMENT",
            bad,
            {"record_id": bad["record_id"], "version": 1},
            "rejection",
            "record.code_list.currency",
        ),
    ]
    report, ok = [], True
    for name, mtype, payload, fields, status, detail in steps:  # one batch each: in order
        [result] = peer.send([peer.seal(mtype, canonical(payload), **fields)])
        got = result.get("receipt_status") if status == "receipt" else result["code"]
        passed = result["status"] == status and got == detail
        ok &= passed
        report.append(
            {"step": name, "type": mtype, **result, "expected": [status, detail], "passed": passed}
        )
    return report, ok


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True, help="the peer node's peer port, https://host:port")
    p.add_argument("--party", required=True, help="our Party code (ISO 3166-1 alpha-2)")
    p.add_argument("--peer-bundle", type=Path, required=True, help="the peer's ctop-trust/1")
    for name in ("sign-key", "sign-cert", "enc-key", "enc-cert", "tls-key", "tls-cert"):
        p.add_argument(f"--{name}", type=Path, required=True)
    args = p.parse_args()
    peer = Peer(args)
    health = peer.http.get("/ctop/v1/health").json()
    if health["party"] != peer.peer or 1 not in health["tc_versions"]:
        print(f"the peer is {health}, not a {peer.peer} node accepting tc 1", file=sys.stderr)
        return 1
    report, ok = run(peer)
    print(json.dumps({"peer": health, "steps": report, "passed": ok}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
