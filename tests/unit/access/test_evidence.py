"""Evidence bundles of real exchanged records (both nodes on each database): a bundle verifies
offline with the two Party CA certificates alone; one flipped byte in any part is refused
naming the part; a bundle re-signed by another key is refused."""

from __future__ import annotations

import hashlib
import io
import json
import stat
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from ctop_node.access.evidence_verify import verify_evidence
from ctop_node.config import write_node_config
from ctop_node.crypto.cose import sign1
from ctop_node.crypto.pki import load_certificate
from ctop_node.errors import AuditError
from ctop_node.store import open_store
from ctop_node.store.audit import AuditLog
from tests._homes import Home, make_home
from tests._users import add_role_users
from tests.unit.access._nodes import Nodes, cli, exchange
from tests.unit.lock._channel import NONCE, carrier_ca, cn_lock_reader, write_lock


@pytest.fixture(autouse=True)
def _acting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands without --user act as the supervisor (evidence and consents are theirs)."""
    monkeypatch.setenv("CTOP_USER", "supervisor")


@pytest.fixture
def kz_db(db_url: str, pg_base_url_if: str | None) -> Iterator[str | None]:
    """KZ's database: SQLite in its home, or, when CN is on PostgreSQL, a schema of its own
    there too (the bundles of a sent record are packed from PostgreSQL as well)."""
    if pg_base_url_if is None:
        yield None
        return
    import psycopg

    schema = f"t_kz_{uuid.uuid4().hex[:12]}"
    raw = pg_base_url_if.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{pg_base_url_if}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(raw, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def pg_base_url_if(db_url: str, request: pytest.FixtureRequest) -> str | None:
    """The PostgreSQL server's URL when this run of the test is the PostgreSQL one."""
    if not db_url.startswith("postgresql"):
        return None
    return str(request.getfixturevalue("pg_base_url"))


@pytest.fixture
def nodes(
    kz_cn_homes: tuple[Home, Home], db_url: str, kz_db: str | None, record_dict: dict[str, Any]
) -> Nodes:
    n = exchange(kz_cn_homes, db_url, record_dict, n=1, kz_db=kz_db)
    # A read of the record, so the bundle carries its audit entries.
    assert (
        cli(
            "records",
            "show",
            n.record_ids[0],
            "--home",
            str(n.cn.home),
            "--user",
            "arrival_officer",
        ).exit_code
        == 0
    )
    return n


def anchors(nodes: Nodes) -> dict[str, Any]:
    return {
        "KZ": load_certificate(nodes.kz.paths.ca_cert),
        "CN": load_certificate(nodes.cn.paths.ca_cert),
    }


def pack(home: Home, rid: str, out: Path) -> bytes:
    result = cli(
        "evidence", "pack", rid, "--home", str(home.home), "--out", str(out), "--user", "supervisor"
    )
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    return out.read_bytes()


def parts_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def rezip(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_received_record_bundle_verifies_offline(nodes: Nodes, tmp_path: Path) -> None:
    data = pack(nodes.cn, nodes.record_ids[0], tmp_path / "ev.zip")
    parts = parts_of(data)
    assert {
        "record.json",
        "messages/1.cose",
        "receipts/1.cose",
        "audit.json",
        "trust/KZ.json",
        "trust/CN.json",
        "manifest.json",
    } <= set(parts)
    report = verify_evidence(data, anchors(nodes))
    assert report.messages == 1 and report.signed_by == {"KZ", "CN"}
    # The read before packing and nothing else of the record: the packing is audited after.
    assert report.audit_entries == 1
    # With nothing but the CLI and the CA files:
    result = cli(
        "evidence",
        "verify",
        str(tmp_path / "ev.zip"),
        "--ca",
        str(nodes.kz.paths.ca_cert),
        "--ca",
        str(nodes.cn.paths.ca_cert),
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["record"]["record_id"] == nodes.record_ids[0]


def test_sent_record_bundle_has_the_peer_receipt_naming_the_message_digest(
    nodes: Nodes, tmp_path: Path
) -> None:
    data = pack(nodes.kz, nodes.record_ids[0], tmp_path / "ev.zip")
    parts = parts_of(data)
    receipt = json.loads(parts["receipts/1.json"])
    assert receipt["message_digest"] == hashlib.sha256(parts["messages/1.cose"]).hexdigest()
    report = verify_evidence(data, anchors(nodes))
    assert report.receipts_naming_digest == 1 and report.signed_by == {"KZ", "CN"}


def test_without_the_signing_partys_ca_it_is_refused(nodes: Nodes, tmp_path: Path) -> None:
    data = pack(nodes.cn, nodes.record_ids[0], tmp_path / "ev.zip")
    with pytest.raises(AuditError) as info:
        verify_evidence(data, {"KZ": anchors(nodes)["KZ"]})
    assert info.value.code == "audit.no_anchor" and "manifest.cose" in info.value.message


@pytest.mark.parametrize("side", ["cn", "kz"])
def test_one_flipped_byte_in_any_part_is_refused_naming_the_part(
    nodes: Nodes, tmp_path: Path, side: str
) -> None:
    home = nodes.cn if side == "cn" else nodes.kz
    parts = parts_of(pack(home, nodes.record_ids[0], tmp_path / "ev.zip"))
    assert len(parts) >= (9 if side == "cn" else 10)
    for name in parts:
        tampered = dict(parts)
        body = bytearray(parts[name])
        body[len(body) // 2] ^= 0x01
        tampered[name] = bytes(body)
        with pytest.raises(AuditError) as info:
            verify_evidence(rezip(tampered), anchors(nodes))
        assert f"part {name}" in info.value.message, (name, info.value)


def test_a_rewritten_and_resigned_manifest_is_refused(nodes: Nodes, tmp_path: Path) -> None:
    parts = parts_of(pack(nodes.cn, nodes.record_ids[0], tmp_path / "ev.zip"))
    forger = make_home(tmp_path, "CN", "cn-forger")  # a key of another CA naming itself CN
    body = bytearray(parts["record.json"])
    body[10] ^= 0x01
    parts["record.json"] = bytes(body)
    manifest = json.loads(parts["manifest.json"])
    manifest["parts"]["record.json"] = hashlib.sha256(parts["record.json"]).hexdigest()
    parts["manifest.json"] = orjson.dumps(manifest)
    parts["manifest.cose"] = sign1(parts["manifest.json"], forger.signer)
    parts["manifest.pem"] = forger.paths.sign_cert.read_bytes()
    with pytest.raises(AuditError) as info:
        verify_evidence(rezip(parts), anchors(nodes))
    assert info.value.code == "audit.untrusted" and "manifest.cose" in info.value.message


def test_a_byte_flipped_in_the_file_itself_is_refused(nodes: Nodes, tmp_path: Path) -> None:
    data = bytearray(pack(nodes.cn, nodes.record_ids[0], tmp_path / "ev.zip"))
    data[len(data) // 3] ^= 0x01
    with pytest.raises(AuditError) as info:
        verify_evidence(bytes(data), anchors(nodes))
    assert info.value.code in ("evidence.format", "evidence.part", "audit.signature")


def test_a_zip_bomb_is_refused_before_it_inflates(nodes: Nodes) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("record.json", b"\0" * (65 * 1024 * 1024))
    assert len(buf.getvalue()) < 1024 * 1024
    with pytest.raises(AuditError) as info:
        verify_evidence(buf.getvalue(), anchors(nodes))
    assert info.value.code == "evidence.format"


def test_a_record_that_came_on_a_smart_lock(
    kz_cn_homes: tuple[Home, Home], db_url: str, record_dict: dict[str, Any], tmp_path: Path
) -> None:
    """The lock payload's signature is inside the encryption to CN (checked at reading); the
    bundle carries the payload, the lock image as read, and CN's signed receipt."""
    kz, cn = kz_cn_homes
    write_node_config(cn.home, {"party": "CN", "db_url": db_url})
    carrier = carrier_ca()
    with open_store(db_url) as store:
        reader = cn_lock_reader(cn, store, carrier)
        reader.read(write_lock(carrier, kz, record_dict), reader_id="CN-R1", nonce=NONCE)
    add_role_users(db_url)
    nodes = Nodes(kz, cn, "", db_url, [record_dict["record_id"]])
    parts = parts_of(pack(cn, record_dict["record_id"], tmp_path / "ev.zip"))
    assert {"messages/1.cose", "receipts/1.cose", "lock/1.img"} <= set(parts)
    manifest = json.loads(parts["manifest.json"])
    assert manifest["exchanges"][0]["channel"] == "lock"
    assert manifest["lock"][0]["image_digest"] == hashlib.sha256(parts["lock/1.img"]).hexdigest()
    report = verify_evidence(rezip(parts), anchors(nodes))
    assert (report.messages, report.lock_messages, report.signed_by) == (1, 1, {"CN"})
    for name in ("lock/1.img", "messages/1.cose", "receipts/1.cose"):
        tampered = dict(parts)
        body = bytearray(parts[name])
        body[-5] ^= 0x01
        tampered[name] = bytes(body)
        with pytest.raises(AuditError) as info:
            verify_evidence(rezip(tampered), anchors(nodes))
        assert f"part {name}" in info.value.message


def test_a_bundle_of_peer_data_for_court_needs_the_partys_consent(
    nodes: Nodes, tmp_path: Path
) -> None:
    home = str(nodes.cn.home)
    rid = nodes.record_ids[0]
    out = tmp_path / "court.zip"
    refused = cli("evidence", rid, "--home", home, "--out", str(out), "--purpose", "court")
    assert isinstance(refused.exception, AuditError)
    assert refused.exception.code == "consent.missing" and not out.exists()
    with open_store(nodes.cn_db) as store:
        last = AuditLog(store.engine).last()
    assert last is not None and (last.action, last.purpose) == ("evidence.refused", "court")
    added = cli(
        "consent",
        "add",
        "--home",
        home,
        "--reference",
        "KZ-MF/9",
        "--from-party",
        "KZ",
        "--purpose",
        "court",
        "--scope",
        rid,
        "--valid-until",
        "2099-12-31",
    )
    assert added.exit_code == 0, added.output
    data = pack(nodes.cn, rid, out)  # as "supervisor", for customs control: no consent needed
    assert json.loads(parts_of(data)["manifest.json"])["use"]["consent_reference"] is None
    court = tmp_path / "court2.zip"
    ok = cli("evidence", rid, "--home", home, "--out", str(court), "--purpose", "court")
    assert ok.exit_code == 0, ok.output
    use = json.loads(parts_of(court.read_bytes())["manifest.json"])["use"]
    assert (use["purpose"], use["consent_reference"]) == ("court", "KZ-MF/9")
    assert "written consent of KZ" in use["restriction"]
    assert verify_evidence(court.read_bytes(), anchors(nodes)).messages == 1
