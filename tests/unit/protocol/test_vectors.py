"""docs/protocol/vectors/: the generator reproduces every deterministic part of the stored
vectors, a verifier that knows only cryptography and cbor2 opens every stored message, the
expected answers are what the real receiver answers, and a damaged vector is noticed."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import cbor2
import orjson
import pytest
from cddl_verifier import Validator
from cryptography import x509
from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.hazmat.primitives.serialization import Encoding

from ctop_node.crypto.envelope import open_
from ctop_node.crypto.trust import BundleTrustStore, TrustBundle
from ctop_node.exchange.receive import Receiver
from ctop_node.model.messages import MessageType
from ctop_node.store import SqlStore, open_store
from tests.unit.store._entries import entry

VECTORS = Path(__file__).parents[3] / "docs" / "protocol" / "vectors"
NAMES = [p.stem for p in sorted(VECTORS.glob("*.json"))]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ctop_vectors", VECTORS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


gen = _generator()


def test_there_is_a_vector_for_every_message_type() -> None:
    types = {json.loads((VECTORS / f"{n}.json").read_text())["type"] for n in NAMES}
    assert types == {
        "CONSIGNMENT",
        "AMENDMENT",
        "CANCELLATION",
        "CONTROL_RESULT",
        "MANIFEST",
        "RECEIPT",
        "REJECTION",
    }


def test_regenerating_gives_the_stored_vectors() -> None:
    assert gen.check(VECTORS) == []


def test_a_damaged_vector_is_noticed(tmp_path: Path) -> None:
    copy = tmp_path / "vectors"
    shutil.copytree(VECTORS, copy)
    raw = bytearray((copy / "consignment.cbor").read_bytes())
    raw[-70] ^= 1  # inside the ciphertext
    (copy / "consignment.cbor").write_bytes(bytes(raw))
    doc = json.loads((copy / "amendment.json").read_text())
    doc["hpke_info_hex"] = doc["hpke_info_hex"][:-2] + "00"
    (copy / "amendment.json").write_text(json.dumps(doc))
    problems = gen.check(copy)
    assert any(p.startswith("consignment.cbor does not open") for p in problems), problems
    assert "amendment.json: hpke_info_hex differs" in problems


# -- a foreign verifier: cryptography and cbor2 only, from the prose of docs/protocol ---------

LABEL = b"ctop-node/payload/1\x00"
SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


def _cert(name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((VECTORS / name).read_bytes())


def foreign_open(doc: dict[str, Any]) -> bytes:
    """Verify and decrypt one vector as a foreign implementation would; return the plaintext."""
    raw = (VECTORS / doc["sealed_message_file"]).read_bytes()
    tag = cbor2.loads(raw)
    assert isinstance(tag, cbor2.CBORTag) and tag.tag == 18
    protected, unprotected, content, signature = tag.value
    assert unprotected == {}
    signing = _cert(doc["keys"]["sender_signing_cert"])
    kid = hashlib.sha256(signing.public_bytes(Encoding.DER)).digest()[:8]
    assert cbor2.loads(protected) == {1: -8, 4: kid}
    assert kid.hex() == doc["kid"]
    public = signing.public_key()
    assert isinstance(public, ed25519.Ed25519PublicKey)
    public.verify(signature, cbor2.dumps(["Signature1", protected, b"", content]))
    inner = cbor2.loads(content)
    assert set(inner) == {"h", "p"}
    header = cbor2.loads(inner["h"])
    assert inner["h"] == cbor2.dumps(header, canonical=True)  # deterministic
    assert inner["h"].hex() == doc["header_bytes_hex"]
    enc_cert = _cert(doc["keys"]["recipient_encryption_cert"])
    rkid = hashlib.sha256(enc_cert.public_bytes(Encoding.DER)).digest()[:8]
    assert header["rkid"] == rkid and header["enc"] == "HPKE-Base-X25519-SHA256-AES256GCM"
    assert (LABEL + inner["h"]).hex() == doc["hpke_info_hex"]
    key = serialization.load_pem_private_key(
        (VECTORS / doc["keys"]["recipient_encryption_key"]).read_bytes(), None
    )
    assert isinstance(key, x25519.X25519PrivateKey)
    plaintext = SUITE.decrypt(inner["p"], key, info=LABEL + inner["h"])
    assert hashlib.sha256(plaintext).hexdigest() == header["payload_digest"]
    assert hashlib.sha256(raw).hexdigest() == doc["sealed_message_sha256"]
    return plaintext


@pytest.mark.parametrize("name", NAMES)
def test_a_foreign_verifier_opens_every_vector(name: str) -> None:
    doc = json.loads((VECTORS / f"{name}.json").read_text())
    assert foreign_open(doc) == doc["plaintext"].encode()


def test_answers_name_the_answered_vector() -> None:
    for answer, answered in (("receipt", "consignment"), ("rejection", "rejected_consignment")):
        doc = json.loads((VECTORS / f"{answer}.json").read_text())
        target = json.loads((VECTORS / f"{answered}.json").read_text())
        payload = json.loads(foreign_open(doc))
        assert doc["header"]["correlation_id"] == target["header"]["message_id"]
        assert payload["message_id"] == target["header"]["message_id"]
        assert payload["message_digest"] == target["sealed_message_sha256"]


def test_canonical_vectors_are_sorted_compact_and_digested() -> None:
    for path in VECTORS.glob("canonical/*.canonical.json"):
        raw = path.read_bytes()
        assert raw == orjson.dumps(orjson.loads(raw), option=orjson.OPT_SORT_KEYS)
        digest = path.with_name(path.name.replace(".canonical.json", ".sha256")).read_text()
        assert hashlib.sha256(raw).hexdigest() == digest


# -- the expected answers are the real receiver's ---------------------------------------------


@pytest.fixture
def store(sqlite_url: str) -> Iterator[SqlStore]:
    with open_store(sqlite_url) as s:
        yield s


def test_expected_answers_are_what_the_receiver_answers(store: SqlStore, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    # KZ's own node: it sent the record whose control result CN reports back (a control
    # result is linked to a version sent from here, else refused).
    kz_store = open_store(f"sqlite:///{tmp_path / 'kz.db'}")
    sent = [
        entry(orjson.loads(spec.payload))
        for spec in gen.specs(now)
        if spec.header.sender == "KZ"
        and spec.header.type in (MessageType.CONSIGNMENT, MessageType.AMENDMENT)
        and spec.expected is not None
        and spec.expected["status"] == "receipt"
    ]
    kz_store.write_batch(sent, origin_party="KZ", direction="out", now=now)
    stores = {"KZ": kz_store, "CN": store}
    keys = {p: gen.party_keys(p) for p in gen.PARTIES}
    trust = BundleTrustStore.of(
        TrustBundle(
            party=k.party,
            ca=k.ca,
            crl=k.crl(now),
            signing=(k.sign,),
            encryption=k.enc,
        )
        for k in keys.values()
    )
    receivers = {
        p: Receiver(p, stores[p].inbox, keys[p].signer, keys[p].decryptor, trust)
        for p in gen.PARTIES
    }
    checked = 0
    # Sealed now (the receiver's clock rules apply), in the order of the vectors.
    for spec, raw in gen.seal_all(now=now):
        if spec.expected is None:
            continue
        result = receivers[spec.header.recipient].handle(raw)
        expected = spec.expected
        assert result.status == expected["status"], (spec.name, result)
        assert result.answer is not None
        sender = keys[spec.header.sender]
        answer = open_(result.answer, trust, sender.decryptor, sender.party)
        assert answer.header.type.value == expected["answer_type"]
        assert answer.header.correlation_id == spec.header.message_id
        payload = json.loads(answer.payload)
        if "receipt_status" in expected:
            assert payload["status"] == expected["receipt_status"], spec.name
        for want, got in zip(expected.get("errors", []), payload.get("errors", []), strict=False):
            assert (got["code"], got["field"]) == (want["code"], want["field"])
        checked += 1
    kz_store.close()
    assert checked == 6


RULES = {
    "CONSIGNMENT": "record",
    "AMENDMENT": "record",
    "CANCELLATION": "cancellation",
    "CONTROL_RESULT": "control-result",
    "MANIFEST": "manifest-message",
    "RECEIPT": "receipt",
    "REJECTION": "rejection",
}


@pytest.mark.parametrize("name", NAMES)
def test_every_vector_matches_the_cddl(name: str) -> None:
    schema = Validator(VECTORS.parent / "ctop.cddl")
    doc = json.loads((VECTORS / f"{name}.json").read_text())
    result = schema.validate((VECTORS / f"{name}.cbor").read_bytes(), require_deterministic=True)
    assert result.valid, result.errors
    if doc["expected_answer"] is None or doc["expected_answer"]["status"] == "receipt":
        payload = schema.validate(json.loads(doc["plaintext"]), root_type=RULES[doc["type"]])
        assert payload.valid, payload.errors
