"""``ctop-node lock`` end to end in-process: carrier, provision, pending, write, journey,
trust, read at CN, and ``records show`` with the verdict; over capacity; untrusted carrier."""

from __future__ import annotations

import copy
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from ctop_node.cli import app
from ctop_node.errors import LockError, UsageError
from ctop_node.localnet import LocalNode, create_nodes
from ctop_node.lock.device import LockDevice
from ctop_node.lock.reader import LockReader
from tests._users import add_role_users_at


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def ok(*args: str | Path) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


@pytest.fixture
def nodes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, LocalNode]:
    made = create_nodes(tmp_path / "nodes")
    for node in made.values():
        add_role_users_at(node.home)
    monkeypatch.setenv("CTOP_USER", "arrival_officer")  # who reads the records shown
    return made


def ingest(node: LocalNode, data: dict[str, Any], tmp: Path) -> None:
    path = tmp / f"{data['record_id']}.json"
    path.write_text(json.dumps(data), "utf-8")
    ok("ingest", path, "--home", node.home)


def future_record(record_dict: dict[str, Any], channel: str = "lock") -> dict[str, Any]:
    data = copy.deepcopy(record_dict)
    data["channel"] = channel
    crossing = datetime.now(UTC) + timedelta(days=2)
    data["train"]["planned_crossing_at"] = crossing.isoformat(timespec="seconds")
    return data


def test_write_carry_read_and_show(
    nodes: dict[str, LocalNode], tmp_path: Path, record_dict: dict[str, Any]
) -> None:
    kz, cn = nodes["KZ"], nodes["CN"]
    data = future_record(record_dict)
    ingest(kz, data, tmp_path)
    rid = data["record_id"]
    pending = json.loads(ok("lock", "pending", "--home", kz.home, "--json"))["pending"]
    assert [(p["record_id"], p["reason"], p["lock_ids"]) for p in pending] == [
        (rid, "carrier:lock", ["LOCK-0001"])
    ]
    carrier = tmp_path / "carrier"
    ok("lock", "carrier-ca", "--out", carrier)
    lock = tmp_path / "LOCK-0001.lock"
    ok("lock", "provision", "LOCK-0001", "--carrier", carrier, "--out", lock)
    written = json.loads(ok("lock", "write", rid, "--lock", lock, "--home", kz.home, "--json"))
    assert (written["peer"], written["mode"], written["declared"]) == ("CN", "full", True)
    assert json.loads(ok("lock", "pending", "--home", kz.home, "--json"))["pending"] == []
    ok("lock", "event", "position", "--lock", lock, "--lat", "45.2", "--lon", "82.5")
    ok("lock", "event", "battery", "--lock", lock, "--pct", "14")
    # Arrival: without a trusted carrier the read is refused.
    carried = tmp_path / "carried.lock"
    shutil.copy(lock, carried)
    shutil.copy(lock.with_name(lock.name + ".key"), carried.with_name(carried.name + ".key"))
    refused = invoke("lock", "read", carried, "--home", cn.home)
    assert refused.exit_code != 0
    ok("lock", "trust-carrier", carrier / "carrier-ca.pem", "--home", cn.home)
    read = json.loads(ok("lock", "read", carried, "--home", cn.home, "--json"))
    assert (read["inbox_state"], read["tampered"], read["record_id"]) == ("applied", False, rid)
    shown = json.loads(ok("records", "show", rid, "--home", cn.home, "--json"))
    assert shown["reconciliation"]["1"]["verdict"] == "LOCK_ONLY"
    assert "reconciliation: LOCK_ONLY" in ok("records", "show", rid, "--home", cn.home)


def test_tampered_lock_is_reported(
    nodes: dict[str, LocalNode], tmp_path: Path, record_dict: dict[str, Any]
) -> None:
    kz, cn = nodes["KZ"], nodes["CN"]
    data = future_record(record_dict, "both")
    ingest(kz, data, tmp_path)
    carrier, lock = tmp_path / "carrier", tmp_path / "LOCK-0001.lock"
    ok("lock", "carrier-ca", "--out", carrier)
    ok("lock", "provision", "LOCK-0001", "--carrier", carrier, "--out", lock)
    ok("lock", "write", data["record_id"], "--lock", lock, "--home", kz.home)
    ok("lock", "event", "tamper", "--lock", lock)
    ok("lock", "event", "opened", "--lock", lock, "--reader", "UNKNOWN")
    read = json.loads(
        ok(
            "lock",
            "read",
            lock,
            "--home",
            cn.home,
            "--carrier-ca",
            carrier / "carrier-ca.pem",
            "--json",
        )
    )
    assert read["tampered"] and {f["code"] for f in read["findings"]} == {
        "lock.tamper",
        "lock.opened_before_reading",
    }
    shown = json.loads(ok("records", "show", data["record_id"], "--home", cn.home, "--json"))
    assert shown["reconciliation"]["1"]["verdict"] == "TAMPERED"


def test_over_capacity_gives_a_proposal_and_leaves_the_lock_empty(
    nodes: dict[str, LocalNode], tmp_path: Path, record_dict: dict[str, Any]
) -> None:
    kz = nodes["KZ"]
    data = future_record(record_dict)
    ingest(kz, data, tmp_path)
    carrier, lock = tmp_path / "carrier", tmp_path / "small.lock"
    ok("lock", "carrier-ca", "--out", carrier)
    ok("lock", "provision", "LOCK-0001", "--carrier", carrier, "--out", lock, "--capacity", "700")
    before = lock.read_bytes()
    result = invoke("lock", "write", data["record_id"], "--lock", lock, "--home", kz.home)
    assert result.exit_code != 0
    assert isinstance(result.exception, LockError) and result.exception.code == "lock.capacity"
    assert "digest mode" in result.exception.message or "online only" in result.exception.message
    assert lock.read_bytes() == before
    assert len(json.loads(ok("lock", "pending", "--home", kz.home, "--json"))["pending"]) == 1


def test_online_records_are_not_pending_while_the_peer_is_reachable(
    nodes: dict[str, LocalNode], tmp_path: Path, record_dict: dict[str, Any]
) -> None:
    kz = nodes["KZ"]
    ingest(kz, future_record(record_dict, "online"), tmp_path)
    assert json.loads(ok("lock", "pending", "--home", kz.home, "--json"))["pending"] == []


def test_an_image_pulled_by_another_device_is_read_with_its_nonce(
    nodes: dict[str, LocalNode], tmp_path: Path, record_dict: dict[str, Any]
) -> None:
    """The image was pulled by a handheld reader (no device key here) / result: without
    --nonce the command refuses; with the challenge the handheld sent it reads the lock; an
    image whose reading is over another challenge is refused (lock.log.unconfirmed)."""
    kz, cn = nodes["KZ"], nodes["CN"]
    data = future_record(record_dict)
    ingest(kz, data, tmp_path)
    carrier, lock = tmp_path / "carrier", tmp_path / "LOCK-0001.lock"
    ok("lock", "carrier-ca", "--out", carrier)
    ok("lock", "provision", "LOCK-0001", "--carrier", carrier, "--out", lock)
    ok("lock", "write", data["record_id"], "--lock", lock, "--home", kz.home)
    ok("lock", "trust-carrier", carrier / "carrier-ca.pem", "--home", cn.home)
    pulled = tmp_path / "pulled.lock"  # what the handheld hands over: the image, no key
    nonce = LockReader.challenge()
    pulled.write_bytes(LockDevice.load(lock).read_by_authority("CN-HANDHELD", nonce=nonce))

    refused = invoke("lock", "read", pulled, "--home", cn.home)
    assert isinstance(refused.exception, UsageError) and "--nonce" in str(refused.exception)
    other = invoke("lock", "read", pulled, "--home", cn.home, "--nonce", LockReader.challenge())
    assert isinstance(other.exception, LockError)
    assert other.exception.code == "lock.log.unconfirmed"
    read = json.loads(ok("lock", "read", pulled, "--home", cn.home, "--nonce", nonce, "--json"))
    assert (read["inbox_state"], read["tampered"]) == ("applied", False)
