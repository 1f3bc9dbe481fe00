"""Art.6, issue 11 item 8: a record flagged as containing state secrets never leaves the node,
on either channel, and neither do its earlier versions that had not left yet.

Two real ``serve`` processes (KZ sends, CN receives). Each case gives the flagged version
values found nowhere else (consignee, goods, declaration, container, transport document) and
then looks everywhere the peer could have got them: every table of CN's database, every
sealed message in KZ's outbox and CN's inbox opened with CN's keys (what went on the wire),
and the smart lock KZ's officer tries to write for the container. KZ's own database must not
hold the flagged body either (it is refused at ingest, never stored).

- v1 plain, queued and sealed (CN down), v2 flagged before delivery: v1 is withdrawn, CN
  never holds any version, the lock write is refused and the lock stays empty; on SQLite and
  PostgreSQL;
- flagged from the first version: nothing queued, nothing to write to a lock;
- amendment after the train left (v1 delivered online and on a lock): CN keeps v1, gets a
  CANCELLATION of it, never v2; a second lock cannot be written.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner, Result

from ctop_node.cli import app
from ctop_node.crypto.envelope import open_
from ctop_node.crypto.node import NodePaths
from ctop_node.crypto.pki import PartyCA
from ctop_node.localnet import LocalNode
from ctop_node.lock.device import LockDevice
from ctop_node.model.identifiers import iso6346_check_digit
from ctop_node.store.schema import inbox, metadata, outbox
from tests._homes import Home
from tests.e2e.conftest import Pair, records_for, start, wait_until


def cli(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def ok(*args: str | Path) -> str:
    result = cli(*args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def with_lock(record: dict[str, Any], lock_id: str) -> dict[str, Any]:
    """The record travels on a smart lock too (``channel`` both), its train crosses tomorrow."""
    out = copy.deepcopy(record)
    out["channel"] = "both"
    out["containers"][0]["smart_lock_id"] = lock_id
    out["train"]["planned_crossing_at"] = (datetime.now(UTC) + timedelta(days=1)).isoformat(
        timespec="seconds"
    )
    return out


def flagged(record: dict[str, Any], tag: str) -> tuple[dict[str, Any], list[str]]:
    """The next content of ``record``, flagged as a state secret, with values of its own
    (returned: the strings that must appear nowhere outside the clearance system)."""
    out = copy.deepcopy(record)
    serial = f"{int(tag, 16) % 1_000_000:06d}"
    container = f"TGHU{serial}{iso6346_check_digit('TGHU' + serial)}"
    out["flags"]["state_secret"] = True
    out["consignee"]["name"] = f"Secret Consignee {tag} Ltd."
    out["goods"][0]["description"] = f"Classified apparatus {tag}"
    out["goods"][0]["container_number"] = container
    out["containers"][0]["number"] = container
    out["declaration"]["number"] = f"55180/251126/9{serial}"
    out["transport_document"]["number"] = f"SMGS-26-9{serial}"
    values = [
        out["consignee"]["name"],
        out["goods"][0]["description"],
        container,
        out["declaration"]["number"],
        out["transport_document"]["number"],
    ]
    return out, values


def post(node: LocalNode, recs: list[dict[str, Any]]) -> dict[str, Any]:
    """The clearance system posts ``recs``; the summary (no count asserted)."""
    r = httpx.post(
        f"{node.api_url}/api/v1/records",
        content=b"".join(orjson.dumps(x) + b"\n" for x in recs),
        headers={"Authorization": f"Bearer {node.token}", "Content-Type": "application/x-ndjson"},
        timeout=120,
    )
    assert r.status_code in (200, 422), r.text
    summary: dict[str, Any] = r.json()
    return summary


def database_text(engine: Engine) -> str:
    """Every value of every table of a node's database, as text (bytes decoded leniently)."""
    parts: list[str] = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        parts.append(bytes(value).decode("utf-8", "replace"))
                    elif value is not None:
                        parts.append(str(value))
    return "\n".join(parts)


def cn_home(pair: Pair) -> Home:
    return Home("CN", pair.cn.home, PartyCA.load(NodePaths(pair.cn.home).ca_dir))


def wire_payloads(pair: Pair) -> list[bytes]:
    """Every sealed message KZ made for CN (its outbox) and CN took in (its inbox), opened
    with CN's keys: exactly what the peer can read of what went on the wire."""
    cn = cn_home(pair)
    raws: list[bytes] = []
    with pair.engine(pair.kz).connect() as conn:
        raws += [r for (r,) in conn.execute(select(outbox.c.message)) if r is not None]
    with pair.engine(pair.cn).connect() as conn:
        raws += [r for (r,) in conn.execute(select(inbox.c.message)) if r is not None]
    return [open_(bytes(raw), cn.trust(), cn.decryptor, "CN").payload for raw in raws]


def assert_nowhere(pair: Pair, values: Iterable[str], *, lock: Path | None = None) -> None:
    values = list(values)
    cn_db = database_text(pair.engine(pair.cn))
    kz_db = database_text(pair.engine(pair.kz))
    payloads = wire_payloads(pair)
    for value in values:
        assert value not in cn_db, f"CN's database holds {value!r}"
        assert value not in kz_db, f"KZ stored the flagged body ({value!r})"
        for payload in payloads:
            assert value.encode() not in payload, f"a sealed message carried {value!r}"
    if lock is not None:
        device = LockDevice.load(lock)
        assert device.payload is None, "the lock carries a payload"
        raw = lock.read_bytes()
        for value in values:
            assert value.encode() not in raw


def cn_versions(pair: Pair, record_id: str) -> list[int]:
    return [r.version for r in pair.store(pair.cn).versions(record_id, origin_party="KZ")]


def provision(tmp_path: Path, lock_id: str) -> Path:
    carrier = tmp_path / "carrier"
    if not (carrier / "carrier-ca.pem").exists():
        ok("lock", "carrier-ca", "--out", carrier)
    lock = tmp_path / f"{lock_id}.lock"
    ok("lock", "provision", lock_id, "--carrier", carrier, "--out", lock)
    return lock


def pending_for_lock(pair: Pair) -> set[tuple[str, int]]:
    listed = json.loads(ok("lock", "pending", "--home", pair.kz.home, "--json"))["pending"]
    return {(p["record_id"], p["version"]) for p in listed}


def refused_lock_write(pair: Pair, record_id: str, lock: Path, *extra: str) -> str:
    """The error code of a ``lock write`` that must fail."""
    result = cli("lock", "write", record_id, "--lock", lock, "--home", pair.kz.home, *extra)
    assert result.exit_code != 0, result.output
    return str(getattr(result.exception, "code", result.output))


def test_a_version_flagged_before_delivery_withdraws_the_queued_one(
    nodes_any_db: Pair, record_dict: dict[str, Any], tmp_path: Path
) -> None:
    pair = nodes_any_db
    start(pair.kz)  # CN is down: v1 is sealed and retried, not delivered
    [v1] = records_for(with_lock(record_dict, "LOCK-SECRET-1"), 1, prefix="SEC")
    rid = v1["record_id"]
    assert post(pair.kz, [v1])["to_send"] == 1
    wait_until("KZ's sender tried CN", lambda: pair.peer_failures() >= 1, 60)
    assert (rid, 1) in pending_for_lock(pair)  # waiting for a lock as well

    v2, secret = flagged(v1, rid[-6:])
    summary = post(pair.kz, [v2])
    assert summary["refused"] == 1 and summary["to_send"] == 0, summary
    assert [e["field"] for e in summary["errors"]] == ["$.flags.state_secret"]

    # Waiting for a lock: withdrawn there too.
    assert (rid, 1) not in pending_for_lock(pair)
    lock = provision(tmp_path, "LOCK-SECRET-1")
    assert refused_lock_write(pair, rid, lock) == "lock.write.withdrawn"
    assert refused_lock_write(pair, rid, lock, "--version", "1") == "lock.write.withdrawn"

    start(pair.cn)  # the link is back: only the cancellation of the sealed v1 may travel
    pair.wait_drained()
    states = {(r.state, r.answer_code) for r in pair.outbox_rows()}
    assert ("withdrawn", None) in states and ("pending", None) not in states, states
    assert cn_versions(pair, rid) == []  # v1 never reached CN, v2 never existed outside KZ
    assert_nowhere(pair, secret, lock=lock)
    # Nor did the plain v1 (sealed, never delivered): CN holds nothing of its body.
    cn_db = database_text(pair.engine(pair.cn))
    for value in (v1["consignee"]["name"], v1["goods"][0]["description"]):
        assert value not in cn_db


def test_flagged_from_the_first_version_nothing_is_queued(
    pair: Pair, record_dict: dict[str, Any], tmp_path: Path
) -> None:
    [base] = records_for(with_lock(record_dict, "LOCK-SECRET-2"), 1, prefix="SEC")
    rid = base["record_id"]
    v1, secret = flagged(base, rid[-6:])
    # A plain record in the same batch goes, so the exchange is known to work.
    [plain] = records_for(record_dict, 1, prefix="SECOK")
    summary = post(pair.kz, [v1, plain])
    assert (summary["refused"], summary["to_send"]) == (1, 1), summary
    pair.wait_drained()

    assert (rid, 1) not in pending_for_lock(pair)
    lock = provision(tmp_path, "LOCK-SECRET-2")
    assert refused_lock_write(pair, rid, lock) == "record.not_found"
    assert [r.record_id for r in pair.received()] == [plain["record_id"]]
    assert pair.store(pair.kz).get_record(rid, origin_party="KZ") is None
    assert_nowhere(pair, secret, lock=lock)


def test_an_amendment_flagged_after_the_train_left(
    pair: Pair, record_dict: dict[str, Any], tmp_path: Path
) -> None:
    """v1 left on both channels; v2 is flagged: CN keeps the v1 it lawfully got, learns that
    the record is cancelled, and never gets v2, online or on a second lock."""
    [v1] = records_for(with_lock(record_dict, "LOCK-SECRET-3"), 1, prefix="SEC")
    rid = v1["record_id"]
    first = provision(tmp_path, "LOCK-SECRET-3")
    pair.ingest(pair.kz, [v1])
    ok("lock", "write", rid, "--lock", first, "--home", pair.kz.home)
    pair.wait_drained()
    assert cn_versions(pair, rid) == [1]

    v2, secret = flagged(v1, rid[-6:])
    assert post(pair.kz, [v2])["refused"] == 1
    wait_until(
        "CN applied KZ's cancellation",
        lambda: (
            [r.state for r in pair.store(pair.cn).versions(rid, origin_party="KZ")] == ["cancelled"]
        ),
        120,
    )
    pair.wait_drained()
    assert cn_versions(pair, rid) == [1]
    second = provision(tmp_path, "LOCK-SECRET-3B")
    assert refused_lock_write(pair, rid, second) == "lock.write.withdrawn"
    assert (rid, 1) not in pending_for_lock(pair)
    # The lock that left with v1 carries v1, not v2: its clear header names version 1.
    written = LockDevice.load(first)
    assert written.payload is not None
    assert_nowhere(pair, secret, lock=second)
    for value in secret:
        assert value.encode() not in first.read_bytes()
    [w] = pair.store(pair.kz).lock_reads.writes(rid)
    assert w.version == 1
