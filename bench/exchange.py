"""Exchange benchmark: two real nodes (``ctop-node serve``, mutual TLS on loopback), KZ -> CN.

    .venv/bin/python bench/exchange.py [--records N] [--rate R --seconds S] [--backlog B]
                                       [--pg [URL]] [--skip-latency] [--skip-backlog]

Figures on stdout, progress on stderr. Every count is read from the two nodes' databases.

1. baseline (same run, this process, one core): per record seal (Ed25519 sign + HPKE
   encrypt) + open (verify + decrypt) + the record committed into two SQLite databases, in
   batches of 500: the raw work the pipeline cannot avoid.
2. end to end: N records POSTed to KZ's internal API in chunks of 500 (ingest) -> outbox ->
   sealed -> delivered -> verified, stored at CN -> receipt verified and settled at KZ. Time
   from the first POST until CN's store holds all N and KZ's outbox has none pending.
3. latency at a fixed offered load: R records/s for S s (a chunk every 50 ms on an absolute
   schedule). Per record, from the wall-clock time just before its POST to
   - stored at CN: CN ``records.created_at`` (the receiver's transaction time);
   - receipt back: KZ ``outbox.delivered_at`` (the signed receipt verified and settled).
4. backlog: CN stopped, B records ingested at KZ, CN started; time from CN's start until
   everything is delivered, split into the wait for KZ's retry (backoff after the outage,
   up to 60 s with full jitter) and the drain itself (first record stored -> all stored).
5. peak RSS (VmHWM) of both node processes.
6. signed receipts (same run, this process, one core): per message, CN seals a RECEIPT
   (Ed25519 sign + HPKE encrypt) and KZ opens it (verify + decrypt + payload check); as a
   share of the two nodes' CPU at the end-to-end rate, and what one signed receipt per
   batch of 500 would save (the v1 decision is one signed receipt per message).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from rich.console import Console
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import PG_DEFAULT, drop_pg_schema, fresh_pg_schema

from ctop_node.crypto.envelope import EnvelopeHeader, open_, seal
from ctop_node.crypto.software import SoftwareDecryptor, SoftwareSigner
from ctop_node.crypto.trust import BundleTrustStore
from ctop_node.localnet import LocalNode, create_nodes, stop_all
from ctop_node.model.canonical import canonical_bytes
from ctop_node.model.messages import MessageType, Receipt
from ctop_node.model.record import Consignment
from ctop_node.rules.routing import reaches_after
from ctop_node.sample import generate
from ctop_node.store.schema import outbox, records

CHUNK = 500
err = Console(stderr=True)


# -- records ----------------------------------------------------------------------------------


def kz_records(prefix: str) -> Iterator[dict[str, Any]]:
    """Endless valid KZ records whose route reaches CN, with ids unique under ``prefix``."""
    seed = 0
    while True:
        for data in generate(
            20, seed, party="KZ", invalid_share=0, excluded_share=0, not_applicable_share=0
        ):
            try:
                record = Consignment.model_validate(data)
            except ValueError:
                continue
            if reaches_after(record.route.sequence(), "KZ", "CN"):
                data["record_id"] = f"{prefix}{seed}-{data['record_id']}"[:128]
                yield data
        seed += 1


def take(it: Iterator[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    return [next(it) for _ in range(n)]


def ndjson(recs: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in recs)


# -- the nodes' databases ---------------------------------------------------------------------


class Counts:
    def __init__(self, kz: LocalNode, cn: LocalNode) -> None:
        self.kz: Engine = create_engine(kz.db_url, poolclass=NullPool)
        self.cn: Engine = create_engine(cn.db_url, poolclass=NullPool)

    def stored_at_cn(self) -> int:
        q = select(func.count()).select_from(records)
        q = q.where(records.c.direction == "in", records.c.origin_party == "KZ")
        with self.cn.connect() as c:
            return int(c.execute(q).scalar_one())

    def outbox(self) -> dict[str, int]:
        q = select(outbox.c.state, func.count()).group_by(outbox.c.state)
        with self.kz.connect() as c:
            return {str(s): int(n) for s, n in c.execute(q)}

    def created_at_cn(self, ids: list[str]) -> dict[str, datetime]:
        out: dict[str, datetime] = {}
        with self.cn.connect() as c:
            for i in range(0, len(ids), 900):
                q = select(records.c.record_id, records.c.created_at).where(
                    records.c.direction == "in", records.c.record_id.in_(ids[i : i + 900])
                )
                out.update({r: t for r, t in c.execute(q)})
        return out

    def delivered_at_kz(self, ids: list[str]) -> dict[str, datetime]:
        out: dict[str, datetime] = {}
        with self.kz.connect() as c:
            for i in range(0, len(ids), 900):
                q = select(outbox.c.record_id, outbox.c.delivered_at).where(
                    outbox.c.state == "delivered", outbox.c.record_id.in_(ids[i : i + 900])
                )
                out.update({r: t for r, t in c.execute(q)})
        return out

    def dispose(self) -> None:
        self.kz.dispose()
        self.cn.dispose()


def wait_until(what: str, done: Callable[[], bool], timeout: float, poll: float = 0.05) -> float:
    """Seconds (monotonic clock) at which ``done()`` first held; raises on the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return time.monotonic()
        time.sleep(poll)  # polling the databases with a deadline
    raise TimeoutError(f"{what}: not done in {timeout:.0f} s")


def post(client: httpx.Client, node: LocalNode, recs: list[dict[str, Any]]) -> None:
    r = client.post(
        f"{node.api_url}/api/v1/records",
        content=ndjson(recs),
        headers={"Authorization": f"Bearer {node.token}", "Content-Type": "application/x-ndjson"},
    )
    r.raise_for_status()
    summary = r.json()
    if summary.get("to_send", len(recs)) != len(recs):
        raise RuntimeError(f"ingest did not queue every record: {summary}")


def vm_hwm_mb(node: LocalNode) -> float:
    if node.proc is None:
        return 0.0
    for line in Path(f"/proc/{node.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


# -- 1. baseline ------------------------------------------------------------------------------


def baseline(kz: LocalNode, cn: LocalNode, recs: list[dict[str, Any]], tmp: Path) -> float:
    signer = SoftwareSigner.from_home(kz.home)
    key = BundleTrustStore.from_home(kz.home).recipient_key("CN")
    trust, dec = BundleTrustStore.from_home(cn.home), SoftwareDecryptor.from_home(cn.home)
    bodies = [(r["record_id"], canonical_bytes(Consignment.model_validate(r))) for r in recs]
    dbs = []
    for name in ("a", "b"):
        db = sqlite3.connect(tmp / f"baseline-{name}.db", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE r (id TEXT PRIMARY KEY, digest TEXT, body BLOB)")
        dbs.append(db)
    start = time.perf_counter()
    for i in range(0, len(bodies), CHUNK):
        rows = []
        for rid, body in bodies[i : i + CHUNK]:
            head = EnvelopeHeader.new(
                MessageType.CONSIGNMENT,
                sender="KZ",
                recipient="CN",
                tc_version="1",
                record_id=rid,
                version=1,
            )
            opened = open_(seal(head, body, signer, key), trust, dec, "CN")
            rows.append((rid, opened.header.payload_digest, opened.payload))
        for db in dbs:
            db.execute("BEGIN")
            db.executemany("INSERT INTO r VALUES (?, ?, ?)", rows)
            db.execute("COMMIT")
    took = time.perf_counter() - start
    for db in dbs:
        db.close()
    return len(bodies) / took


# -- 6. receipts ------------------------------------------------------------------------------


def receipt_cost(kz: LocalNode, cn: LocalNode, n: int) -> float:
    """Seconds of one core per signed receipt: sealed by CN, opened and checked by KZ."""
    signer = SoftwareSigner.from_home(cn.home)
    to_kz = BundleTrustStore.from_home(cn.home).recipient_key("KZ")
    trust, dec = BundleTrustStore.from_home(kz.home), SoftwareDecryptor.from_home(kz.home)
    start = time.perf_counter()
    for i in range(n):
        head = EnvelopeHeader.new(
            MessageType.RECEIPT,
            sender="CN",
            recipient="KZ",
            tc_version="1",
            record_id=f"R{i}",
            version=1,
            correlation_id="00000000-0000-4000-8000-000000000000",
        )
        receipt = Receipt(
            message_id=head.correlation_id or "",
            message_digest="0" * 64,
            status="applied",
            stored_at=head.created_at,
        )
        raw = seal(head, canonical_bytes(receipt), signer, to_kz)
        Receipt.model_validate_json(open_(raw, trust, dec, "KZ").payload)
    return (time.perf_counter() - start) / n


# -- 2. end to end ----------------------------------------------------------------------------


def end_to_end(
    kz: LocalNode, counts: Counts, recs: list[dict[str, Any]], timeout: float
) -> tuple[float, float]:
    """(records/s end to end, records/s of the POSTs alone)."""
    target = counts.stored_at_cn() + len(recs)
    with httpx.Client(timeout=120) as client:
        t0 = time.monotonic()
        for i in range(0, len(recs), CHUNK):
            post(client, kz, recs[i : i + CHUNK])
        posted = time.monotonic()
    err.log(f"posted {len(recs):,} records in {posted - t0:.1f} s; waiting for delivery")

    def done() -> bool:
        return counts.stored_at_cn() >= target and counts.outbox().get("pending", 0) == 0

    t1 = wait_until("end-to-end delivery", done, timeout)
    return len(recs) / (t1 - t0), len(recs) / (posted - t0)


# -- 3. latency -------------------------------------------------------------------------------


def latency(
    kz: LocalNode, counts: Counts, it: Iterator[dict[str, Any]], rate: int, seconds: float
) -> tuple[list[float], list[float], float]:
    tick = 0.05
    per_tick = max(1, round(rate * tick))
    posted_at: dict[str, float] = {}
    late = 0.0
    with httpx.Client(timeout=30) as client:
        start = time.monotonic()
        n = 0
        while n * tick < seconds:
            due = start + n * tick
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)  # the offered-load schedule, not a wait for a result
            late = max(late, -pause)
            chunk = take(it, per_tick)
            wall = time.time()
            post(client, kz, chunk)
            posted_at.update({r["record_id"]: wall for r in chunk})
            n += 1
    ids = list(posted_at)
    wait_until(
        "latency records delivered",
        lambda: len(counts.delivered_at_kz(ids[-per_tick:])) == per_tick,
        60,
    )
    wait_until("latency records", lambda: len(counts.delivered_at_kz(ids)) == len(ids), 60)
    stored = counts.created_at_cn(ids)
    acked = counts.delivered_at_kz(ids)
    to_store = [(stored[i].timestamp() - posted_at[i]) * 1000 for i in ids]
    to_receipt = [(acked[i].timestamp() - posted_at[i]) * 1000 for i in ids]
    return to_store, to_receipt, late * 1000


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


# -- 4. backlog -------------------------------------------------------------------------------


def backlog(
    kz: LocalNode, cn: LocalNode, counts: Counts, recs: list[dict[str, Any]], timeout: float
) -> tuple[float, float, float, float]:
    """(CN ready after, first stored after, all stored after, drain s) in seconds from CN's
    start, and CN's peak RSS before it was stopped."""
    hwm_before = vm_hwm_mb(cn)
    cn.stop()
    before = counts.stored_at_cn()
    err.log(f"CN stopped; ingesting a backlog of {len(recs):,} records at KZ")
    with httpx.Client(timeout=300) as client:
        for i in range(0, len(recs), CHUNK):
            post(client, kz, recs[i : i + CHUNK])
    pending = counts.outbox().get("pending", 0)
    err.log(f"KZ outbox pending: {pending:,}; starting CN")
    t0 = time.monotonic()
    cn.start()
    cn.wait_ready()
    ready = time.monotonic()
    first = wait_until("first backlog record", lambda: counts.stored_at_cn() > before, timeout)

    def done() -> bool:
        return (
            counts.stored_at_cn() >= before + len(recs) and counts.outbox().get("pending", 0) == 0
        )

    end = wait_until("backlog drained", done, timeout, poll=0.2)
    return ready - t0, first - t0, end - t0, hwm_before


# -- main -------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--rate", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--backlog", type=int, default=100_000)
    ap.add_argument(
        "--pg", nargs="?", const=os.environ.get("CTOP_BENCH_PG", PG_DEFAULT), default=None
    )
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--skip-backlog", action="store_true")
    ap.add_argument("--timeout", type=float, default=900)
    args = ap.parse_args()
    db = "PostgreSQL" if args.pg else "SQLite"
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        urls: dict[str, str] = {}
        if args.pg:
            urls = {"KZ": fresh_pg_schema(args.pg)}
            time.sleep(1.1)  # the schema name carries the second
            urls["CN"] = fresh_pg_schema(args.pg)
        nodes = create_nodes(tmp, db_urls=urls or None)
        kz, cn = nodes["KZ"], nodes["CN"]
        it = kz_records("B")
        err.log(f"generating {args.records:,} records")
        main_recs = take(it, args.records)
        err.log("baseline: seal + open + two SQLite commits per record")
        base = baseline(kz, cn, main_recs, tmp)
        print(f"database: {db}; records: {args.records:,}; host cores: {os.cpu_count()}")
        print(f"baseline (sign+encrypt+verify+decrypt+2 commits) {base:10,.0f} records/s")
        counts: Counts | None = None
        try:
            for node in nodes.values():
                node.start()
            for node in nodes.values():
                node.wait_ready()
            counts = Counts(kz, cn)
            err.log(f"nodes up; end to end with {args.records:,} records")
            e2e, posts = end_to_end(kz, counts, main_recs, args.timeout)
            print(
                f"end to end (ingest -> ... -> receipt back)    {e2e:10,.0f} records/s"
                f"   ratio to baseline: {e2e / base:4.2f}   (POSTs alone {posts:,.0f}/s)"
            )
            per_receipt = receipt_cost(kz, cn, min(2_000, args.records))
            cores = 2  # one process per node, each CPU-bound (docs/performance.md)
            share = per_receipt * e2e / cores
            batch_share = share / CHUNK
            print(
                f"signed receipts: {per_receipt * 1e6:,.0f} us per message (seal at CN + open "
                f"at KZ, one core) = {share:.0%} of the two nodes' CPU at {e2e:,.0f} records/s;"
                f" one receipt per batch of {CHUNK} would cost {batch_share:.2%}: end to end"
                f" at most {e2e / (1 - share + batch_share):,.0f} records/s"
                f" (ratio {e2e / (1 - share + batch_share) / base:4.2f})"
            )
            if not args.skip_latency:
                err.log(f"latency at {args.rate}/s for {args.seconds:.0f} s")
                store_ms, receipt_ms, late = latency(kz, counts, it, args.rate, args.seconds)
                print(
                    f"latency at {args.rate}/s x {args.seconds:.0f} s ({len(store_ms):,} records): "
                    f"stored at CN p50 {pct(store_ms, 50):.0f} ms p99 {pct(store_ms, 99):.0f} ms; "
                    f"receipt back p50 {pct(receipt_ms, 50):.0f} ms"
                    f" p99 {pct(receipt_ms, 99):.0f} ms"
                    f" (max {max(receipt_ms):.0f} ms, mean {statistics.mean(receipt_ms):.0f} ms;"
                    f" schedule slip max {late:.0f} ms)"
                )
            cn_hwm = vm_hwm_mb(cn)
            if not args.skip_backlog:
                err.log(f"generating {args.backlog:,} backlog records")
                recs = take(it, args.backlog)
                ready, first, end, cn_hwm = backlog(kz, cn, counts, recs, args.timeout)
                drain = end - first
                print(
                    f"backlog {args.backlog:,}: drained {end:.1f} s after CN's start "
                    f"(CN ready {ready:.1f} s, first record stored {first:.1f} s: KZ's retry "
                    f"backoff); drain itself {drain:.1f} s = {args.backlog / drain:,.0f} records/s"
                )
            final = counts.outbox()
            stored = counts.stored_at_cn()
            print(
                f"peak RSS: KZ {vm_hwm_mb(kz):.0f} MB, CN {max(cn_hwm, vm_hwm_mb(cn)):.0f} MB; "
                f"KZ outbox {final}; stored at CN {stored:,}"
            )
        finally:
            if counts is not None:
                counts.dispose()
            stop_all(nodes)
            for node in nodes.values():
                if node.proc is not None:
                    node.kill()
            for url in urls.values():
                drop_pg_schema(url)


if __name__ == "__main__":
    main()
