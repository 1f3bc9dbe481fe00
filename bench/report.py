"""Report benchmark: the working-group report (``reports.evaluation.build_report``) over a
database of N messages, on SQLite or PostgreSQL.

    .venv/bin/python bench/report.py [--messages N] [--pg [URL]] [--keep PATH]

Half of the messages are ours (a record version with its real ~1.6 kB canonical body and an
outbox entry: 96 % delivered, 2 % rejected, 1 % pending, 1 % dead; 3 % retried; 2 % also
written to a smart lock), half received (an inbox row and the stored record: 98 % applied,
2 % rejected with a field error; 1 % also read from a lock), spread over 30 days. Sealed messages
and answers are random bytes of real size (2.6 kB, 420 B). Rows are
bulk-loaded, not ingested (the bench measures the report): 10,000 rows per batch, through the
driver (``COPY`` on PostgreSQL, ``executemany`` on SQLite) with the columns' own bind
conversions, so the stored values are what the store writes.

The report runs in a fresh process (its peak RSS is its own), after a same-run baseline in
that process: ``SELECT COUNT(*)`` over the inbox and the outbox, the floor of any scan.
Figures on stdout.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import PG_DEFAULT, drop_pg_schema, fresh_pg_schema

from ctop_node.model.canonical import canonical_bytes, digest
from ctop_node.model.record import Consignment
from ctop_node.reports.evaluation import build_report
from ctop_node.store import open_store
from ctop_node.store._facts import facts_of_body
from ctop_node.store.schema import (
    inbox,
    lock_reads,
    lock_writes,
    outbox,
    record_heads,
    records,
)

BATCH = 10_000
START = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 30
# Sealed messages and answers as large as real ones (they share pages with what is counted).
SEALED = os.urandom(2600)
ANSWER = os.urandom(420)
RECORD = Path(__file__).resolve().parent.parent / "tests" / "data" / "record_kz_cn.json"


def _template() -> bytes:
    data = orjson.loads(RECORD.read_bytes())
    data["record_id"] = "RID-PLACEHOLDER"
    return canonical_bytes(Consignment.model_validate(data)).replace(b"RID-PLACEHOLDER", b"__RID__")


def _head(row: dict[str, Any]) -> dict[str, Any]:
    received = row["direction"] == "in"
    return {
        "origin_party": row["origin_party"],
        "record_id": row["record_id"],
        "latest_version": row["version"],
        "latest_digest": row["digest"],
        "outcome": "received" if received else row["outcome"],
        "updated_at": row["created_at"],
    }


class _Loader:
    """Writes rows through the driver: what SQLAlchemy's executemany costs per row was most
    of the populate time (10-15 min for 1M messages)."""

    def __init__(self, conn: Connection) -> None:
        self.dialect = conn.dialect
        self.raw: Any = conn.connection.driver_connection

    def __call__(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        cols = list(rows[0])
        procs = [
            table.c[c].type.dialect_impl(self.dialect).bind_processor(self.dialect) for c in cols
        ]
        values = [
            tuple(
                v if f is None or v is None else f(v)
                for f, v in zip(procs, (r[c] for c in cols), strict=True)
            )
            for r in rows
        ]
        names = ", ".join(cols)
        if self.dialect.name == "postgresql":
            with (
                self.raw.cursor() as cur,
                cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as cp,
            ):
                for row in values:
                    cp.write_row(row)
        else:
            marks = ", ".join("?" for _ in cols)
            self.raw.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", values)


def populate(url: str, messages: int) -> None:
    store = open_store(url)
    body_t = _template()
    half = messages // 2
    step = DAYS * 86400 / max(half, 1)
    facts = facts_of_body(body_t)
    errors = orjson.dumps([{"code": "record.hs_code", "field": "$.goods[0].hs_code"}]).decode()
    with store.engine.begin() as conn:
        load = _Loader(conn)
        for lo in range(0, half, BATCH):
            recs, obx, lws = [], [], []
            for i in range(lo, min(lo + BATCH, half)):
                rid = f"KZ-BENCH-{i:09d}"
                body = body_t.replace(b"__RID__", rid.encode())
                at = START + timedelta(seconds=i * step)
                recs.append(
                    {
                        "id": i + 1,
                        "record_id": rid,
                        "version": 1,
                        "origin_party": "KZ",
                        "direction": "out",
                        "tc_version": 1,
                        "digest": digest(body),
                        "outcome": "to_send",
                        "reason": "",
                        "detail": "",
                        "body": body,
                        "created_at": at,
                    }
                    | facts
                )
                k = i % 100
                state = (
                    "rejected"
                    if k < 2
                    else "pending"
                    if k == 2
                    else "dead"
                    if k == 3
                    else "delivered"
                )
                retried = 4 <= k < 7
                obx.append(
                    {
                        "record_pk": i + 1,
                        "record_id": rid,
                        "version": 1,
                        "peer_party": "CN",
                        "state": state,
                        "attempts": 3 if retried else 1,
                        "next_attempt_at": at,
                        "last_error": None,
                        "created_at": at,
                        "delivered_at": at + timedelta(seconds=2 + 60 * retried),
                        "message_id": f"m-out-{i:012d}",
                        "message": SEALED,
                        "answer": ANSWER,
                        "answer_code": "record.hs_code" if state == "rejected" else None,
                        "sent_at": at + timedelta(seconds=1),
                        "planned_crossing_at": facts["planned_crossing_at"],
                    }
                )
                if k in (50, 51):
                    lws.append(
                        {
                            "record_id": rid,
                            "version": 1,
                            "peer_party": "CN",
                            "lock_id": f"LOCK-{i}",
                            "payload_id": f"p-{i}",
                            "digest": digest(body),
                            "mode": "full",
                            "size": len(body),
                            "written_at": at + timedelta(minutes=5),
                        }
                    )
            load(records, recs)
            load(record_heads, [_head(r) for r in recs])
            load(outbox, obx)
            load(lock_writes, lws)
            print(f"ours {lo + len(recs)}/{half}", file=sys.stderr, end="\r")
        for lo in range(0, half, BATCH):
            recs, ibx, lrs = [], [], []
            for i in range(lo, min(lo + BATCH, half)):
                rid = f"CN-BENCH-{i:09d}"
                body = body_t.replace(b"__RID__", rid.encode())
                at = START + timedelta(seconds=i * step)
                rejected = i % 50 == 0
                if not rejected:
                    recs.append(
                        {
                            "id": half + i + 1,  # keys given: ours took 1..half
                            "record_id": rid,
                            "version": 1,
                            "origin_party": "CN",
                            "direction": "in",
                            "tc_version": 1,
                            "digest": digest(body),
                            "outcome": "to_send",
                            "reason": "",
                            "detail": "",
                            "body": body,
                            "created_at": at,
                        }
                        | facts
                    )
                ibx.append(
                    {
                        "message_id": f"m-in-{i:012d}",
                        "sender_party": "CN",
                        "type": "CONSIGNMENT",
                        "record_id": rid,
                        "version": 1,
                        "tc_version": 1,
                        "payload_digest": digest(body),
                        "message_digest": digest(body),
                        "message": SEALED,
                        "payload": None,
                        "answer": ANSWER,
                        "answer_type": "REJECTION" if rejected else "RECEIPT",
                        "state": "rejected" if rejected else "applied",
                        "channel": "online",
                        "received_at": at,
                        "applied_at": None if rejected else at,
                        "errors": errors if rejected else None,
                    }
                )
                if i % 100 == 7:
                    lrs.append(
                        {
                            "lock_id": f"LOCK-IN-{i}",
                            "payload_id": f"pi-{i}",
                            "sender_party": "CN",
                            "record_id": rid,
                            "version": 1,
                            "digest": digest(body),
                            "mode": "digest",
                            "message_id": None,
                            "lock_state": "sealed",
                            "declared": True,
                            "tampered": i % 1000 == 7,
                            "findings": "[]",
                            "events": "[]",
                            "reader_id": "bench",
                            "image": b"x",
                            "read_at": at + timedelta(hours=10),
                            "nonce": None,
                            "image_digest": digest(rid.encode()),
                        }
                    )
            load(records, recs)
            load(record_heads, [_head(r) for r in recs])
            load(inbox, ibx)
            load(lock_reads, lrs)
            print(f"received {lo + len(ibx)}/{half}", file=sys.stderr, end="\r")
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # What autovacuum does on a live node: statistics and the visibility map that
            # lets the covering indexes answer without visiting the table.
            conn.exec_driver_sql("VACUUM ANALYZE")
    store.close()


def child(url: str) -> None:
    store = open_store(url, migrate=False)
    t0 = time.perf_counter()
    scanned = store.report_scan_baseline()
    baseline = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    report = build_report(store, "KZ", START.date(), START.date() + timedelta(days=DAYS), now=START)
    seconds = time.perf_counter() - t0
    # CPU of this process: on SQLite the queries' own work, the figure that load does not
    # inflate (on PostgreSQL the server's share is not in it).
    cpu = time.process_time() - c0
    store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        orjson.dumps(
            {
                "baseline_count_s": round(baseline, 3),
                "baseline_rows": scanned,
                "report_s": round(seconds, 3),
                "report_cpu_s": round(cpu, 3),
                "load_average_1min": round(os.getloadavg()[0], 1),
                "peak_rss_mb": round(peak, 1),
                "totals": report["totals"],
            }
        ).decode()
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--pg", nargs="?", const=PG_DEFAULT, default=None)
    ap.add_argument("--keep", type=Path, default=None, help="SQLite file to keep (and reuse).")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    tmp = tempfile.TemporaryDirectory(prefix="ctop-bench-report-")
    if args.pg:
        url = fresh_pg_schema(args.pg)
    else:
        path = args.keep or Path(tmp.name) / "report.db"
        url = f"sqlite:///{path}"
    try:
        if not (args.keep and args.keep.exists()):
            t0 = time.perf_counter()
            populate(url, args.messages)
            print(f"populate: {args.messages} messages in {time.perf_counter() - t0:.1f} s")
        out = subprocess.run(
            [sys.executable, __file__, "--child", url], capture_output=True, check=True, text=True
        )
        figures: dict[str, Any] = orjson.loads(out.stdout.strip().splitlines()[-1])
        db = "PostgreSQL" if args.pg else "SQLite"
        print(f"{db}, {args.messages} messages ({date.today().isoformat()})")
        for key in (
            "baseline_rows",
            "baseline_count_s",
            "report_s",
            "report_cpu_s",
            "peak_rss_mb",
            "load_average_1min",
        ):
            print(f"  {key}: {figures[key]}")
        t = figures["totals"]
        print(f"  totals: sent {t['sent']}, delivered {t['delivered']}, received {t['received']}")
    finally:
        if args.pg:
            drop_pg_schema(url)
        tmp.cleanup()


if __name__ == "__main__":
    main()
