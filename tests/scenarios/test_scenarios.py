"""Scenario runner: one JSON file per threat or rule (``tests/scenarios/*.json``), each "client
sends ... / result: ...". A scenario builds its message(s) with real keys of two node homes
(KZ sends, CN receives) and feeds them, on a real database, through each channel it names:

- ``online``: sealed as an online message, handed to the real :class:`Receiver`;
- ``lock``: the record version sealed into a real lock payload, written to a simulated lock
  device (its own device key, certified by a carrier CA CN trusts), sealed, challenged with a
  fresh nonce and read through the real :class:`LockReader`.

Both channels end in the one receive path, so a rule enforced online and forgotten on the
lock fails here. A scenario that has no lock form (a CANCELLATION, a header field the lock
payload does not carry, an envelope property) names ``["online"]`` only.

File format::

    {"description": "client sends ... / result: ...",
     "channels": ["online", "lock"],       # where the scenario applies
     "before": [<message>, ...],          # sent first, each must get a RECEIPT (optional)
     "message": <message>,
     "expect": {"status": "receipt"|"rejection"|"refused", "code": "...",
                "field": "...", "state": "...", "stored": false,   # optional
                "receipt_status": "applied"|"waiting"|"duplicate", # in the SIGNED receipt
                "answer_digest": "received"},  # online: the answer names the bytes that came
     "receiver": {"clock_offset_s": 660,   # the receiver's clock is that far ahead
                  "tc_versions": [2]},     # its agreement with KZ names only these
     "lock": {"expect": {...}}}           # the lock's own expectation, where it differs
                                          # (a refusal has a lock.* code there)

    <message> = {"name": "m1",                       # to refer to it as "@m1" later
                 "type": "CONSIGNMENT", "version": 1, # type defaults from the version
                 "record": {"set": {"goods.0.currency": "XYZ"}, "delete": ["declaration"]},
                 "payload": "canonical" | "indented" | {"raw": "text"},
                 "cancellation": {"record_id": "...", "version": 1},
                 "header": {"record_id": ..., "tc_version": ..., "message_id": "@m1"},
                 "signer": "kz" | "impostor" | "expired" | "revoked",
                 "plaintext": true, "resign": {"sender": "RU"}, "tamper": "flip" | "truncate",
                 "replay": "@m1"}                     # the exact bytes of an earlier message
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cbor2
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from ctop_node.crypto.cose import decode_sign1, sign1
from ctop_node.crypto.envelope import (
    EnvelopeHeader,
    OpenedMessage,
    message_digest,
    open_,
    seal,
)
from ctop_node.crypto.interfaces import Signer
from ctop_node.crypto.pki import PartyCA, write_pem, write_private_key
from ctop_node.crypto.software import SoftwareSigner
from ctop_node.crypto.trust import TrustBundle, import_trust
from ctop_node.errors import LockError
from ctop_node.exchange.codes import CODES
from ctop_node.exchange.receive import Receiver
from ctop_node.lock.carrier import CarrierCA
from ctop_node.lock.codec import encode_payload
from ctop_node.lock.device import LockDevice
from ctop_node.lock.image import read_image
from ctop_node.lock.reader import LockReader, ReadResult
from ctop_node.model.canonical import canonical_bytes
from ctop_node.model.messages import Cancellation, MessageType, Receipt, Rejection
from ctop_node.model.reference import KZ_CN_2021
from ctop_node.store import open_store
from tests._homes import Home, make_home, make_pair
from tests.conftest import DATA
from tests.unit.online._peers import record_body

HERE = Path(__file__).parent
SCENARIOS = sorted(HERE.glob("*.json"))
STATUSES = ("receipt", "rejection", "refused")
CHANNELS = ("online", "lock")
LOCK_ID = "LOCK-0001"  # the smart_lock_id the test record declares


@dataclasses.dataclass
class World:
    kz: Home
    cn: Home
    signers: dict[str, Signer]
    receiver: Receiver
    lock_reader: LockReader
    carrier: CarrierCA
    sent: dict[str, tuple[str, bytes]] = dataclasses.field(default_factory=dict)
    # Lock readings by name: (image, nonce), to read again for a replay.
    read: dict[str, tuple[bytes, str]] = dataclasses.field(default_factory=dict)

    def open(self, sealed: bytes) -> OpenedMessage:
        """An answer of CN, verified and decrypted with KZ's keys."""
        return open_(sealed, self.kz.trust(), self.kz.decryptor, "KZ")


def _extra_signer(ca: PartyCA, root: Path, name: str, *, expired: bool) -> tuple[Signer, Any]:
    now = dt.datetime.now(dt.UTC)
    key = ed25519.Ed25519PrivateKey.generate()
    start = now - dt.timedelta(hours=2) if expired else None
    end = now - dt.timedelta(hours=1) if expired else None
    cert = ca.issue_signing(key.public_key(), name, not_before=start, not_after=end)
    write_private_key(root / f"{name}.key", key)
    write_pem(root / f"{name}.pem", cert)
    return SoftwareSigner.from_files(root / f"{name}.key", root / f"{name}.pem"), cert


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    kz, cn = make_pair(tmp_path)
    expired, expired_cert = _extra_signer(kz.ca, tmp_path, "expired", expired=True)
    revoked, revoked_cert = _extra_signer(kz.ca, tmp_path, "revoked", expired=False)
    # KZ publishes both extra certificates and a CRL that revokes one; CN imports that.
    crl = kz.ca.revoke(revoked_cert.serial_number)
    bundle = TrustBundle.from_home(kz.home, crl=crl)
    bundle = dataclasses.replace(bundle, signing=(*bundle.signing, revoked_cert, expired_cert))
    (tmp_path / "kz-bundle.json").write_text(bundle.to_json(), "utf-8")
    import_trust(cn.home, tmp_path / "kz-bundle.json", own_party="CN")
    impostor = make_home(tmp_path / "impostor", "KZ")  # a KZ CA that CN never imported
    signers = {"kz": kz.signer, "impostor": impostor.signer, "expired": expired, "revoked": revoked}
    carrier = CarrierCA.create("scenario carrier", now=dt.datetime.now(dt.UTC) - dt.timedelta(1))
    with open_store(db_url) as store:
        receiver = Receiver("CN", store.inbox, cn.signer, cn.decryptor, cn.trust())
        lock_reader = LockReader(
            "CN", store, cn.signer, cn.decryptor, cn.trust(), [carrier.certificate]
        )
        yield World(kz, cn, signers, receiver, lock_reader, carrier)


def _path_set(data: Any, path: str, value: Any, *, delete: bool = False) -> None:
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    for k in keys[:-1]:
        data = data[k]
    if delete:
        del data[keys[-1]]
    else:
        data[keys[-1]] = value


def _record(spec: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "record_kz_cn.json").read_text("utf-8"))
    changes = spec.get("record", {})
    for path, value in changes.get("set", {}).items():
        _path_set(data, path, copy.deepcopy(value))
    for path in changes.get("delete", []):
        _path_set(data, path, None, delete=True)
    return data


def _ref(world: World, value: Any) -> Any:
    if isinstance(value, str) and value.startswith("@"):
        return world.sent[value[1:]][0]
    return value


def _resign(raw: bytes, signer: Signer, changes: dict[str, Any]) -> bytes:
    inner = cbor2.loads(decode_sign1(raw).payload)
    fields = cbor2.loads(inner["h"])
    fields.update(changes)
    inner["h"] = cbor2.dumps(fields, canonical=True)
    return sign1(cbor2.dumps(inner, canonical=True), signer)


def build(world: World, spec: dict[str, Any]) -> tuple[str, bytes]:
    """The message id and sealed bytes that ``spec`` describes."""
    if "replay" in spec:
        return world.sent[spec["replay"].lstrip("@")]
    version = int(spec.get("version", 1))
    default = MessageType.CONSIGNMENT if version == 1 else MessageType.AMENDMENT
    mtype = MessageType(spec.get("type", default.value))
    record = _record(spec)
    if mtype is MessageType.CANCELLATION:
        fields = {"record_id": record["record_id"], "version": version, "reason": "cancelled"}
        payload = canonical_bytes(Cancellation(**(fields | spec.get("cancellation", {}))))
    elif isinstance(spec.get("payload"), dict):
        payload = spec["payload"]["raw"].encode("utf-8")
    elif spec.get("payload") == "indented":
        payload = orjson.dumps(record, option=orjson.OPT_INDENT_2)
    else:
        payload = record_body(record)
    header = {"record_id": record["record_id"], "version": version, "tc_version": "1"}
    header |= {k: _ref(world, v) for k, v in spec.get("header", {}).items()}
    head = EnvelopeHeader.new(
        mtype,
        sender="KZ",
        recipient="CN",
        tc_version=header["tc_version"],
        record_id=header["record_id"],
        version=header["version"],
    )
    if "message_id" in header:
        head = dataclasses.replace(head, message_id=header["message_id"])
    signer = world.signers[spec.get("signer", "kz")]
    key = world.kz.trust().recipient_key("CN")
    raw = seal(head, payload, signer, key, plaintext=bool(spec.get("plaintext", False)))
    if "resign" in spec:
        raw = _resign(raw, signer, spec["resign"])
    if spec.get("tamper") == "flip":
        flipped = bytearray(raw)
        flipped[len(flipped) // 2] ^= 0x01
        raw = bytes(flipped)
    elif spec.get("tamper") == "truncate":
        raw = raw[: len(raw) - 7]
    return head.message_id, raw


def build_lock(world: World, spec: dict[str, Any]) -> tuple[bytes, str]:
    """The lock image that carries the record version ``spec`` describes, read over a fresh
    nonce: written by KZ (or ``signer``) to a new lock device, sealed, carried, challenged."""
    if "replay" in spec:
        return world.read[spec["replay"].lstrip("@")]
    version = int(spec.get("version", 1))
    default = MessageType.CONSIGNMENT if version == 1 else MessageType.AMENDMENT
    assert MessageType(spec.get("type", default.value)) is default, "no lock form"
    assert set(spec.get("header", {})) <= {"tc_version"}, "the lock header has no such field"
    now = dt.datetime.now(dt.UTC)
    key = world.kz.trust().recipient_key("CN")
    if "resign" in spec:  # the lock's own form of a payload addressed to another Party
        key = dataclasses.replace(key, party=spec["resign"]["recipient"])
    device = LockDevice.provision(LOCK_ID, world.carrier, now=now - dt.timedelta(hours=2))
    payload = encode_payload(
        orjson.loads(record_body(_record(spec))),
        version=version,
        signer=world.signers[spec.get("signer", "kz")],
        recipient=key,
        lock_id=LOCK_ID,
        counter=1,
        expires=now + dt.timedelta(days=7),
        tc=str(spec.get("header", {}).get("tc_version", "1")),
    )
    device.write_payload(payload, now=now - dt.timedelta(minutes=90))
    device.seal(now=now - dt.timedelta(minutes=89))
    nonce = world.lock_reader.challenge()
    image = device.read_by_authority("CN-R1", nonce=nonce, now=now - dt.timedelta(minutes=1))
    if spec.get("tamper") == "flip":  # a byte of the payload's encrypted body
        img = read_image(image)
        assert img.payload is not None
        body = bytearray(img.payload)
        body[len(body) - 20] ^= 0x40
        image = dataclasses.replace(img, payload=bytes(body)).to_bytes()
    elif spec.get("tamper") == "truncate":
        image = image[: len(image) - 7]
    return image, nonce


def _load(path: Path) -> dict[str, Any]:
    scenario: dict[str, Any] = json.loads(path.read_text("utf-8"))
    assert " / result: " in scenario["description"], path.name
    assert scenario["expect"]["status"] in STATUSES, path.name
    channels = scenario.get("channels")
    assert channels and set(channels) <= set(CHANNELS), f"{path.name}: name its channels"
    return scenario


CASES = [(p, c) for p in SCENARIOS for c in _load(p)["channels"]]


@pytest.mark.parametrize(("path", "channel"), CASES, ids=[f"{p.stem}-{c}" for p, c in CASES])
def test_scenario(path: Path, channel: str, world: World) -> None:
    scenario = _load(path)
    if channel == "lock":
        run_lock(world, scenario)
    else:
        run_online(world, scenario)


def run_online(world: World, scenario: dict[str, Any]) -> None:
    expect = scenario["expect"]
    receiver = world.receiver
    for spec in scenario.get("before", []):
        mid, raw = build(world, spec)
        setup = receiver.handle(raw)
        assert setup.status == "receipt", (spec, setup)
        world.sent[spec.get("name", mid)] = (mid, raw)
    rows_before = len(receiver.inbox.list(limit=1000))
    _configure(receiver, scenario.get("receiver", {}))
    mid, raw = build(world, scenario["message"])
    result = receiver.handle(raw)
    assert (result.status, result.code) == (expect["status"], expect.get("code", "")), result
    rows = receiver.inbox.list(limit=1000)
    if result.status == "refused" or expect.get("stored") is False:
        assert len(rows) == rows_before  # nothing stored
    if result.status == "refused":
        assert result.answer is None
        return
    assert result.answer is not None
    _check_answer(world, result.answer, mid, expect)
    if expect.get("answer_digest") == "received":
        named = orjson.loads(world.open(result.answer).payload)["message_digest"]
        assert named == message_digest(raw)
    if "state" in expect:
        states = {r.message_id: r.state for r in rows}
        assert states[mid] == expect["state"]


def run_lock(world: World, scenario: dict[str, Any]) -> None:
    expect = scenario.get("lock", {}).get("expect", scenario["expect"])
    reader = world.lock_reader
    inbox = world.receiver.inbox
    for n, spec in enumerate(scenario.get("before", [])):
        image, nonce = build_lock(world, spec)
        setup = reader.read(image, reader_id="CN-R1", nonce=nonce)
        assert setup.answer_type == "RECEIPT", (spec, setup)
        world.read[spec.get("name", str(n))] = (image, nonce)
    rows_before = len(inbox.list(limit=1000))
    _configure(reader.receiver, scenario.get("receiver", {}))
    image, nonce = build_lock(world, scenario["message"])
    try:
        result: ReadResult | LockError = reader.read(image, reader_id="CN-R1", nonce=nonce)
    except LockError as exc:
        result = exc
    if isinstance(result, LockError):
        assert ("refused", result.code) == (expect["status"], expect.get("code", "")), result
        assert len(inbox.list(limit=1000)) == rows_before  # nothing stored
        return
    status = "receipt" if result.answer_type == "RECEIPT" else "rejection"
    code = result.errors[0].code if status == "rejection" and result.errors else ""
    assert (status, code) == (expect["status"], expect.get("code", "")), result
    if expect.get("stored") is False:
        assert len(inbox.list(limit=1000)) == rows_before
    assert result.message_id is not None
    stored = inbox.answer_for(result.message_id)
    assert stored is not None
    _check_answer(world, stored.answer, result.message_id, expect)
    if "state" in expect:
        assert result.inbox_state == expect["state"]


def _check_answer(world: World, sealed: bytes, mid: str, expect: dict[str, Any]) -> None:
    """The answer is signed by CN for KZ, names the message, and says what was expected."""
    answer = world.open(sealed)
    assert answer.signer.party == "CN" and answer.header.correlation_id == mid
    if expect["status"] == "rejection":
        assert answer.header.type is MessageType.REJECTION
        errors = Rejection.model_validate_json(answer.payload).errors
        assert expect["code"] in {e.code for e in errors}
        if "field" in expect:
            assert (expect["code"], expect["field"]) in {(e.code, e.field) for e in errors}
    else:
        assert answer.header.type is MessageType.RECEIPT
        receipt = Receipt.model_validate_json(answer.payload)
        assert receipt.message_id == mid
        if "receipt_status" in expect:
            assert receipt.status == expect["receipt_status"]


def _configure(receiver: Receiver, spec: dict[str, Any]) -> None:
    """Set the receiver up as a scenario says: its clock, its agreement's tc versions."""
    if "clock_offset_s" in spec:
        offset = dt.timedelta(seconds=spec["clock_offset_s"])
        receiver.clock = lambda: dt.datetime.now(dt.UTC) + offset
    if "tc_versions" in spec:
        agreement = dataclasses.replace(KZ_CN_2021, tc_versions=tuple(spec["tc_versions"]))
        receiver.agreements = (agreement,)


def test_scenarios_cover_the_rejection_codes() -> None:
    """Every numeric class of the documented list has at least one scenario, and every
    expected code is a documented one."""
    expected = [_load(p)["expect"] for p in SCENARIOS]
    codes = {e["code"] for e in expected if e.get("code")}
    assert codes <= set(CODES), codes - set(CODES)
    assert {CODES[c].klass for c in codes} >= {"12", "13", "14", "15", "26", "90", "92", "93", "S"}
    assert len(SCENARIOS) >= 15


def test_every_rule_that_has_a_lock_form_runs_on_the_lock() -> None:
    """Every record rule and receive-path decision (a REJECTION, or a RECEIPT state) that a
    record version can carry runs through both channels with the same expected answer; a
    lock override only renames a refusal (the lock's envelope has its own codes)."""
    both = [_load(p) for p in SCENARIOS if "lock" in _load(p)["channels"]]
    assert len(both) >= 20
    for s in both:
        override = s.get("lock", {}).get("expect")
        if override is not None:
            assert s["expect"]["status"] == override["status"] == "refused", s["description"]
            assert override["code"].startswith("lock."), s["description"]
    record_rules = [
        p.name
        for p in SCENARIOS
        if _load(p)["expect"].get("code", "").startswith("record.")
        and "lock" not in _load(p)["channels"]
    ]
    assert record_rules == []
