"""The working-group report and signed-manifest reconciliation over a scripted history
between two real nodes (KZ departs, CN arrives), on SQLite and on PostgreSQL:

trains of two crossing days go online / the link is cut (CN stopped) while a train whose
carrier asked for smart locks is queued; its locks are written, one is tampered on the way,
CN reads them while the link is down / the link comes back and KZ's sender retries / KZ
cancels a record CN never had (rejected) / each Party's report equals counts taken in the
test from that Party's own database; both manifests reconcile with no difference; a
withheld record, an altered digest and a lock-only record planted at CN are found, exactly;
a manifest with one flipped byte is refused.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import delete, func, select, update
from typer.testing import CliRunner

from ctop_node.cli import app
from ctop_node.errors import ReportError
from ctop_node.model.canonical import digest
from ctop_node.store.schema import inbox, lock_reads, lock_writes, outbox, records
from tests.e2e.conftest import Pair, records_for, start, wait_until
from tests.unit.online._peers import cancellation_message


def cli(*args: str | Path, code: int = 0) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == code, (result.output, result.exception)
    return result.output


def _trains(record_dict: dict[str, Any]) -> list[dict[str, Any]]:
    """Two trains, crossing tomorrow and the day after, online."""
    out = []
    for day in (1, 2):
        crossing = (datetime.now(UTC) + timedelta(days=day)).isoformat(timespec="seconds")
        for r in records_for(record_dict, 3, prefix=f"DAY{day}"):
            r["train"]["planned_crossing_at"] = crossing
            r["train"]["number"] = f"100{day}"
            r["containers"][0].pop("smart_lock_id", None)
            out.append(r)
    return out


def _lock_train(record_dict: dict[str, Any]) -> list[dict[str, Any]]:
    crossing = (datetime.now(UTC) + timedelta(hours=20)).isoformat(timespec="seconds")
    recs = records_for(record_dict, 3, prefix="LOCKREP")
    for i, r in enumerate(recs):
        r["train"]["planned_crossing_at"] = crossing
        r["containers"] = copy.deepcopy(r["containers"])
        r["channel"] = "both"
        r["containers"][0]["smart_lock_id"] = f"LOCK-REP-{i}"
    return recs


def _history(pair: Pair, record_dict: dict[str, Any], tmp_path: Path) -> None:
    pair.ingest(pair.kz, _trains(record_dict))
    pair.wait_drained()

    pair.cn.stop()  # the outage
    pair.ingest(pair.kz, _lock_train(record_dict))
    wait_until("KZ's sender counted CN down", lambda: pair.peer_failures() >= 2, 60)
    pending = json.loads(cli("lock", "pending", "--home", pair.kz.home, "--json"))["pending"]
    carrier = tmp_path / "carrier"
    cli("lock", "carrier-ca", "--out", carrier)
    locks = []
    for p in pending:
        lock = tmp_path / f"{p['lock_ids'][0]}.lock"
        cli("lock", "provision", p["lock_ids"][0], "--carrier", carrier, "--out", lock)
        cli("lock", "write", p["record_id"], "--lock", lock, "--home", pair.kz.home)
        locks.append(lock)
    assert len(locks) == 3
    cli("lock", "event", "tamper", "--lock", locks[2])
    cli("lock", "trust-carrier", carrier / "carrier-ca.pem", "--home", pair.cn.home)
    for lock in locks:
        cli("lock", "read", lock, "--home", pair.cn.home, "--json")

    start(pair.cn)
    pair.wait_drained()
    (answer,) = pair.post_messages([cancellation_message(pair.kz_home(), "KZ-NEVER-SENT-1")])
    assert answer["status"] == "rejection"


def _report(pair: Pair, node: Any, out: Path, fmt: str = "json") -> dict[str, Any]:
    today = datetime.now(UTC).date().isoformat()
    args = ("report", "--home", node.home, "--from", today, "--to", today, "--out", out)
    cli(*args, "--format", fmt, "--user", "analyst")
    if fmt != "json":
        return {}
    data: dict[str, Any] = orjson.loads((out / "report.json").read_bytes())
    return data


def _count(pair: Pair, node: Any, stmt: Any) -> int:
    with pair.engine(node).connect() as conn:
        return int(conn.execute(stmt).scalar_one() or 0)


def _check_kz(pair: Pair, rep: dict[str, Any]) -> None:
    kz = pair.kz
    states = pair.outbox_states()
    t = rep["totals"]
    assert t["sent"] == sum(states.values()) == 9
    assert t["delivered"] == states["delivered"]
    assert t["rejected_by_peer"] == states["rejected"]
    assert t["lock_written"] == _count(pair, kz, select(func.count()).select_from(lock_writes))
    rel = rep["reliability"]
    assert rel["entries_retried"] == _count(
        pair, kz, select(func.count()).where(outbox.c.attempts > 1)
    )
    assert rel["entries_retried"] >= 3 and rel["outage_windows"] >= 1
    assert rel["retries"] == _count(
        pair, kz, select(func.sum(outbox.c.attempts - 1)).where(outbox.c.attempts > 1)
    )
    with pair.engine(kz).connect() as conn:
        bodies = [orjson.loads(b) for (b,) in conn.execute(select(records.c.body))]
        written = {
            (r, v) for r, v in conn.execute(select(lock_writes.c.record_id, lock_writes.c.version))
        }
        times = list(
            conn.execute(
                select(records.c.body, outbox.c.delivered_at)
                .join(outbox, outbox.c.record_pk == records.c.id)
                .where(outbox.c.state == "delivered")
            )
        )
    wished = sum(
        1 for b in bodies if b.get("channel") in ("lock", "both") and (b["record_id"], 1) in written
    )
    assert rel["by_lock_carrier_wish"] == wished == 3
    assert rel["by_lock_online_outage"] == 0
    before = sum(
        1
        for body, at in times
        if at < datetime.fromisoformat(orjson.loads(body)["train"]["planned_crossing_at"])
    )
    tl = rep["timeliness"]
    assert tl["clearance_to_receipt"]["count"] == len(times)
    assert tl["queued_to_lock_written"]["count"] == len(written) == 3
    assert tl["before_planned_crossing"]["sent_acknowledged_before_crossing"] == before
    crossings = Counter(b["train"]["crossing_point"] for b in bodies)
    by_crossing: Counter[str] = Counter()
    for row in rep["tables"]["volumes_sent"]["rows"]:
        by_crossing[row[1]] += row[-1]
    assert by_crossing == crossings


def _check_cn(pair: Pair, rep: dict[str, Any]) -> None:
    cn = pair.cn
    t = rep["totals"]
    assert t["received"] == _count(
        pair, cn, select(func.count()).where(inbox.c.answer_type == "RECEIPT")
    )
    assert t["received"] >= 9
    assert t["rejected_by_us"] == 1
    assert t["lock_read"] == _count(pair, cn, select(func.count()).select_from(lock_reads))
    assert t["received_lock"] == _count(
        pair,
        cn,
        select(func.count()).where(inbox.c.answer_type == "RECEIPT", inbox.c.channel == "lock"),
    )
    with pair.engine(cn).connect() as conn:
        findings = Counter(
            f["code"]
            for (raw,) in conn.execute(select(lock_reads.c.findings))
            for f in {f["code"]: f for f in orjson.loads(raw)}.values()
        )
    found = dict(rep["tables"]["discrepancies"]["rows"])
    for code, n in findings.items():
        assert found[code] == n
    assert found.get("lock.tampered_reading", 0) >= 1
    stored = _count(pair, cn, select(func.count()).where(records.c.direction == "in"))
    assert rep["timeliness"]["stored_to_planned_crossing"]["count"] == stored >= 9
    assert rep["timeliness"]["before_planned_crossing"]["received_before_crossing"] == stored
    rej = rep["tables"]["rejections"]["rows"]
    assert rej == [["received", "exchange.unknown_record", "$.record_id", 1]]
    by_type = dict(rep["tables"]["received_by_type"]["rows"])
    assert by_type["CANCELLATION"] == 1


class _Svg(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.svgs = 0
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.svgs += tag == "svg"
        for name, value in attrs:
            if name in ("src", "href") and value and "://" in value:
                self.external.append(value)


def _manifest(node: Any, out: Path) -> Path:
    today = datetime.now(UTC).date().isoformat()
    cli("manifest", "--home", node.home, "--from", today, "--to", today, "--out", out)
    return out


def _plant(pair: Pair) -> dict[str, tuple[str, int]]:
    """At CN: drop one record version (withheld), alter a digest, and lose the online copy
    of one record that also came by lock."""
    with pair.engine(pair.cn).begin() as conn:
        day = [
            r
            for (r,) in conn.execute(select(records.c.record_id).order_by(records.c.record_id))
            if "-DAY" in r
        ]
        lock_rid = conn.execute(select(lock_reads.c.record_id).order_by(lock_reads.c.id)).first()
        assert lock_rid is not None
        withheld, altered = day[0], day[1]
        conn.execute(delete(inbox).where(inbox.c.record_id == withheld))
        conn.execute(delete(records).where(records.c.record_id == withheld))
        conn.execute(
            update(records).where(records.c.record_id == altered).values(digest=digest(b"x"))
        )
        conn.execute(
            delete(inbox).where(inbox.c.record_id == lock_rid[0], inbox.c.channel == "online")
        )
    return {
        "sent_not_held": (withheld, 1),
        "digest_differs": (altered, 1),
        "lock_only": (lock_rid[0], 1),
    }


def test_report_and_reconciliation_over_a_scripted_history(
    pair_any_db: Pair, record_dict: dict[str, Any], tmp_path: Path
) -> None:
    pair = pair_any_db
    _history(pair, record_dict, tmp_path)

    _check_kz(pair, _report(pair, pair.kz, tmp_path / "kz-report"))
    _check_cn(pair, _report(pair, pair.cn, tmp_path / "cn-report"))
    _report(pair, pair.cn, tmp_path / "cn-csv", "csv")
    csvs = sorted(p.name for p in (tmp_path / "cn-csv").glob("*.csv"))
    assert "timeliness.csv" in csvs and "volumes_received.csv" in csvs and len(csvs) >= 10

    _report(pair, pair.kz, tmp_path / "kz-html", "html")
    page = _Svg()
    page.feed((tmp_path / "kz-html" / "report.html").read_text("utf-8"))
    assert page.svgs >= 4 and page.external == []

    kz_m = _manifest(pair.kz, tmp_path / "kz.manifest")
    cn_m = _manifest(pair.cn, tmp_path / "cn.manifest")
    intact = json.loads(cli("reconcile", kz_m, cn_m, "--home", pair.kz.home, "--json"))
    assert intact["differences"] == []

    planted = _plant(pair)
    cn_m = _manifest(pair.cn, tmp_path / "cn2.manifest")
    found = json.loads(cli("reconcile", kz_m, cn_m, "--home", pair.kz.home, "--json", code=3))
    assert {d["kind"]: (d["record_id"], d["version"]) for d in found["differences"]} == planted
    assert len(found["differences"]) == 3

    # The report shows the same reconciliation, from KZ's side, given CN's manifest.
    today = datetime.now(UTC).date().isoformat()
    out = tmp_path / "kz-rec"
    args = ("report", "--home", pair.kz.home, "--from", today, "--to", today, "--out", out)
    cli(*args, "--format", "json", "--peer-manifest", cn_m, "--user", "analyst", code=3)
    shown = orjson.loads((out / "report.json").read_bytes())["reconciliation"]["differences"]
    assert {d["kind"]: (d["record_id"], d["version"]) for d in shown} == planted

    flipped = bytearray(kz_m.read_bytes())
    flipped[len(flipped) // 2] ^= 0x01
    bad = tmp_path / "flipped.manifest"
    bad.write_bytes(bytes(flipped))
    refused = CliRunner().invoke(
        app, ["reconcile", str(bad), str(cn_m), "--home", str(pair.kz.home)]
    )
    assert isinstance(refused.exception, ReportError), refused.output
    assert refused.exception.message.startswith("manifest refused")
