"""Ingest benchmark: validation alone, and ingest+store on SQLite and PostgreSQL (prints figures).

    .venv/bin/python bench/ingest.py [--records N] [--pg URL] [--skip-pg]

Figures, on sample data from ``ctop-node sample`` (realistic records, 1-6 goods items each):
- baseline: orjson parsing of the same lines (the floor any JSON ingest pays), in the same run;
- validation alone (technical conditions v1) in records/s and as a ratio to the baseline;
- full ingest (read, validate, Art.2/Art.6 rules, store with outbox) per database;
- peak RSS of full ingest for N and 4N records, each in a fresh process: flat memory means
  the ratio stays near 1.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from ctop_node.ingest.ndjson import NdjsonReader
from ctop_node.ingest.pipeline import Classifier, IngestPipeline
from ctop_node.rules import NodePolicy
from ctop_node.sample import generate
from ctop_node.store import open_store
from ctop_node.tc import DEFAULT_REGISTRY

PG_DEFAULT = "postgresql+psycopg://root@127.0.0.1:5432/test"


def write_sample(path: Path, records: int) -> int:
    written = 0
    with path.open("wb") as fh:
        trains = 0
        while written < records:
            for rec in generate(1, seed=trains, party="CN", invalid_share=0.0):
                if written >= records:
                    break
                # Unique ids across trains: the seed restarts numbering.
                rec["record_id"] = f"{rec['record_id']}-{trains}"
                fh.write(orjson.dumps(rec) + b"\n")
                written += 1
            trains += 1
    return written


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>10,.0f} records/s"


def bench_validation(path: Path) -> tuple[float, float, int]:
    lines = path.read_bytes().splitlines()
    t0 = time.perf_counter()
    parsed = [orjson.loads(line) for line in lines]
    parse_s = time.perf_counter() - t0
    validate = DEFAULT_REGISTRY.latest.validate_record
    t0 = time.perf_counter()
    for data in parsed:
        validate(data)
    return parse_s, time.perf_counter() - t0, len(lines)


def bench_ingest(path: Path, url: str) -> tuple[float, int]:
    store = open_store(url)
    try:
        pipeline = IngestPipeline(store, Classifier(NodePolicy("CN")))
        t0 = time.perf_counter()
        summary = pipeline.run(NdjsonReader().read(path))
        return time.perf_counter() - t0, summary.read
    finally:
        store.close()


def fresh_pg_schema(url: str) -> str:
    import psycopg

    schema = f"bench_{os.getpid()}_{int(time.time())}"
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    return f"{url}?options=-csearch_path%3D{schema}"


def drop_pg_schema(url: str) -> None:
    import psycopg

    base, _, opts = url.partition("?options=-csearch_path%3D")
    with psycopg.connect(base.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        c.execute(f'DROP SCHEMA IF EXISTS "{opts}" CASCADE')


def child_peak_rss(records: int) -> float:
    """Run one full ingest of ``records`` in a fresh process; return its peak RSS in MB."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(records)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def child(records: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sample.ndjson"
        write_sample(path, records)
        bench_ingest(path, f"sqlite:///{tmp}/node.db")
        print(f"{peak_rss_mb():.1f}")


def peak_rss_mb() -> float:
    # VmHWM belongs to this process image; ru_maxrss of a forked child starts from the
    # parent's peak on Linux, which would hide the child's own figure.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--pg", default=os.environ.get("CTOP_BENCH_PG", PG_DEFAULT))
    ap.add_argument("--skip-pg", action="store_true")
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    n = args.records
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sample.ndjson"
        write_sample(path, n)
        size_mb = path.stat().st_size / 1e6
        print(f"sample: {n:,} records, {size_mb:.1f} MB NDJSON (CN export trains)")
        parse_s, validate_s, count = bench_validation(path)
        print(f"baseline orjson parse      {rate(count, parse_s)}")
        print(
            f"validation (tc v1) alone   {rate(count, validate_s)}"
            f"   ratio to parse: {validate_s / parse_s:5.1f}x"
        )
        secs, read = bench_ingest(path, f"sqlite:///{tmp}/node.db")
        print(
            f"ingest+store SQLite        {rate(read, secs)}   "
            f"ratio to validation alone: {secs / validate_s:4.2f}x"
        )
        if not args.skip_pg:
            url = fresh_pg_schema(args.pg)
            try:
                secs, read = bench_ingest(path, url)
                print(
                    f"ingest+store PostgreSQL    {rate(read, secs)}   "
                    f"ratio to validation alone: {secs / validate_s:4.2f}x"
                )
            finally:
                drop_pg_schema(url)
    small, large = max(n // 4, 1000), max(n, 4000)
    rss_small, rss_large = child_peak_rss(small), child_peak_rss(large)
    print(f"peak RSS ingest {small:>7,} records: {rss_small:7.1f} MB")
    print(
        f"peak RSS ingest {large:>7,} records: {rss_large:7.1f} MB   "
        f"ratio: {rss_large / rss_small:4.2f} (flat memory = ~1)"
    )


if __name__ == "__main__":
    main()
