"""Arrival-view benchmark: the train list, a container search and a train page, through the
internal port's ASGI app (access check, queries, template), with N records stored.

    .venv/bin/python bench/ui.py [--records N] [--per-train K] [--runs R]
        [--sqlite-file PATH] [--skip-sqlite] [--pg [URL]] [--pg-schema NAME]

Records are bulk-inserted straight into ``records``/``record_heads`` as received from KZ (one
sample record, varied: record id, container, seal, train number, planned crossing spread
over 120 days), then the arrival index is built by the product's own catch-up (timed:
records/s). Each page is asked for R times after one warm-up; p50/p95 wall and CPU ms on
stdout with the load average. Target: p95 <= 200 ms per page. ``--sqlite-file`` and
``--pg-schema`` keep the database; a later run with the same N measures the pages only.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import orjson
import psycopg
from sqlalchemy import Table, func, select
from sqlalchemy.engine import Connection

from ctop_node.access.sessions import Accounts
from ctop_node.ingest.pipeline import Classifier, IngestPipeline
from ctop_node.rules import NodePolicy
from ctop_node.sample import generate
from ctop_node.store import SqlStore, open_store
from ctop_node.store.arrival import ArrivalQueries
from ctop_node.store.schema import record_heads, records
from ctop_node.store.users import UserStore
from ctop_node.web.api import api_app

PASSWORD = "bench-officer-password"
TOKEN = "bench-system-token-0123456789abcdef"
NOW = datetime.now(UTC).replace(microsecond=0)
BATCH = 5000


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _template() -> dict[str, Any]:
    one = next(
        iter(generate(1, 11, party="KZ", invalid_share=0, excluded_share=0, not_applicable_share=0))
    )
    one["goods"] = one["goods"][:1]
    one["containers"] = one["containers"][:1]
    return one


def _bulk(conn: Connection, table: Table, rows: list[tuple[Any, ...]]) -> None:
    """Plain driver inserts (COPY on PostgreSQL), each value through its column's bind
    processing (at-rest sealing, UTC times) as SQLAlchemy would do it."""
    dialect = conn.dialect
    cols = [table.c[name] for name in _FILLED[table.name]]
    procs = [c.type.bind_processor(dialect) for c in cols]
    prepared = [
        tuple(v if p is None else p(v) for p, v in zip(procs, row, strict=True)) for row in rows
    ]
    names = ", ".join(c.name for c in cols)
    if dialect.name == "postgresql":
        raw = cast("psycopg.Connection[Any]", conn.connection.dbapi_connection)
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in prepared:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(cols))
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", prepared)


_FILLED = {
    "records": (
        "record_id",
        "version",
        "origin_party",
        "direction",
        "tc_version",
        "digest",
        "outcome",
        "reason",
        "detail",
        "body",
        "created_at",
    ),
    "record_heads": (
        "origin_party",
        "record_id",
        "latest_version",
        "latest_digest",
        "outcome",
        "updated_at",
    ),
}


def fill(store: SqlStore, n: int, per_train: int) -> None:
    """Stores n records straight into ``records``/``record_heads`` (not through ingest: only
    the arrival index's catch-up, which runs afterwards, is what the product does)."""
    r = _template()  # changed in place per record: only the fields below vary
    container, goods = r["containers"][0], r["goods"][0]
    start = time.perf_counter()
    for first in range(0, n, BATCH):
        rows, heads = [], []
        for i in range(first, min(n, first + BATCH)):
            rid = f"KZ-BENCH-{i:08d}"
            train = i // per_train
            planned = NOW + timedelta(minutes=(train * 7919) % (120 * 24 * 60)) - timedelta(days=60)
            number = f"BNCU{i:07d}"
            r["record_id"] = rid
            r["train"]["number"] = f"T{train:06d}"
            r["train"]["planned_crossing_at"] = planned.isoformat()
            container["number"] = number
            container["seals"] = [f"KZS{i:08d}"]
            container["wagon_number"] = f"W{train:06d}{i % 4}"
            goods["container_number"] = number
            body = orjson.dumps(r, option=orjson.OPT_SORT_KEYS)
            digest = hashlib.sha256(body).hexdigest()
            rows.append((rid, 1, "KZ", "in", 1, digest, "received", "online", "", body, NOW))
            heads.append(("KZ", rid, 1, digest, "received", NOW))
        with store.engine.begin() as conn:
            _bulk(conn, records, rows)
            _bulk(conn, record_heads, heads)
        done = first + len(rows)
        if done % 100_000 == 0 or done == n:
            log(f"  stored {done:,} records ({done / (time.perf_counter() - start):,.0f}/s)")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def measure(
    store: SqlStore, runs: int, per_train: int, n: int
) -> dict[str, tuple[list[float], list[float]]]:
    """Wall time and this process's CPU time of each request, in ms (the CPU time does not
    grow with the machine's load; for PostgreSQL it leaves out the server's share)."""
    app = api_app(IngestPipeline(store, Classifier(NodePolicy("CN"))), TOKEN, party="CN")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://node"
    ) as client:
        page = await client.get("/login")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        r = await client.post(
            "/login", data={"username": "olga", "password": PASSWORD, "csrf": csrf}
        )
        assert r.status_code == 303, r.text
        middle = n // 2
        listing = await client.get("/ui/")
        key = listing.text.split('href="/ui/trains/')[1].split('"')[0]
        pages = {
            "train list (/ui/)": "/ui/",
            "container search": f"/ui/search?q=BNCU{middle:07d}",
            "train page": f"/ui/trains/{key}",
        }
        out: dict[str, tuple[list[float], list[float]]] = {}
        for name, url in pages.items():
            first = await client.get(url)  # warm-up
            assert first.status_code == 200, (url, first.status_code)
            times, cpu = [], []
            for _ in range(runs):
                t, c = time.perf_counter(), time.process_time()
                resp = await client.get(url)
                times.append((time.perf_counter() - t) * 1000)
                cpu.append((time.process_time() - c) * 1000)
                assert resp.status_code == 200
            out[name] = (times, cpu)
        return out


def _stored(store: SqlStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(records)).scalar_one())


def run(url: str, label: str, n: int, per_train: int, runs: int) -> None:
    log(f"{label}: {n:,} records, {per_train} per train")
    store = open_store(url)
    try:
        have = _stored(store)
        if have == n:  # a kept database (--sqlite-file, --pg-schema): pages only
            log("  records already stored: measuring the pages only")
            fill_s = index_s = float("nan")
        else:
            if have:
                raise SystemExit(f"{url} holds {have:,} records, not {n:,}: start empty")
            t = time.perf_counter()
            fill(store, n, per_train)
            fill_s = time.perf_counter() - t
            t, cpu = time.perf_counter(), time.process_time()
            ArrivalQueries(store.engine).refresh()  # the product's own catch-up, timed
            index_s, cpu = time.perf_counter() - t, time.process_time() - cpu
            log(
                f"  index caught up in {index_s:.1f} s ({n / index_s:,.0f} records/s;"
                f" {cpu:.0f} s CPU in this process, {n / cpu:,.0f} records per CPU-second)"
            )
            Accounts(UserStore(store.engine)).add_user("olga", "arrival_officer", PASSWORD)
        if store.engine.dialect.name == "postgresql":
            # Planner statistics after a bulk load, as autovacuum keeps them on a live node
            # (without them the plans are for empty tables: JIT, parallel scans).
            with store.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        times = asyncio.run(measure(store, runs, per_train, n))
    finally:
        store.close()
    trains = n // per_train
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\n{label}, {n:,} records ({trains:,} trains); fill {fill_s:.0f} s ({n / fill_s:,.0f}/s),"
        f" index catch-up {index_s:.0f} s ({n / index_s:,.0f} records/s); load average {load}"
    )
    print(f"{'page':<22} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'CPU p50':>8} {'CPU p95':>8}")
    for name, (values, cpu_ms) in times.items():
        print(
            f"{name:<22} {statistics.median(values):8.1f} {pct(values, 95):8.1f}"
            f" {max(values):8.1f} {statistics.median(cpu_ms):8.1f} {pct(cpu_ms, 95):8.1f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--per-train", type=int, default=50)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--pg", nargs="?", const="postgresql+psycopg://root@127.0.0.1:5432/test")
    ap.add_argument("--skip-sqlite", action="store_true")
    ap.add_argument("--sqlite-file", type=Path, help="keep the SQLite database here (reused)")
    ap.add_argument("--pg-schema", help="keep the PostgreSQL data in this schema (reused)")
    args = ap.parse_args()
    if not args.skip_sqlite:
        if args.sqlite_file:
            run(f"sqlite:///{args.sqlite_file}", "SQLite", args.records, args.per_train, args.runs)
        else:
            with tempfile.TemporaryDirectory(prefix="ctop-bench-ui-") as tmp:
                url = f"sqlite:///{Path(tmp) / 'ui.db'}"
                run(url, "SQLite", args.records, args.per_train, args.runs)
    if args.pg:
        raw = args.pg.replace("postgresql+psycopg", "postgresql")
        schema = args.pg_schema or f"bench_ui_{os.getpid()}"  # fresh, dropped afterwards
        with psycopg.connect(raw, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        try:
            url = f"{args.pg}?options=-csearch_path%3D{schema}"
            run(url, "PostgreSQL", args.records, args.per_train, args.runs)
        finally:
            if not args.pg_schema:
                with psycopg.connect(raw, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
