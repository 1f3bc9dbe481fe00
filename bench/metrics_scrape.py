"""What one Prometheus scrape of ``/metrics`` costs as the outbox grows (prints figures).

    .venv/bin/python bench/metrics_scrape.py [--records N] [--pg URL] [--skip-pg]

For N and 4N delivered records (KZ -> CN sample trains, a spread of delivery latencies) on
SQLite and PostgreSQL: the median time of rendering the node's metrics (every aggregate query
and the trust files), against a baseline measured in the same run, one ``count(*)`` of the
outbox. The scrape reads the tables at each call, so its cost grows with the outbox: the
ratio to the baseline says by how much more than a plain scan.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from ctop_node.crypto.node import init_node
from ctop_node.ingest.interfaces import RawItem
from ctop_node.ingest.pipeline import Classifier, IngestPipeline
from ctop_node.reports.metrics import NodeCollector, metrics_registry, render
from ctop_node.rules import NodePolicy
from ctop_node.sample import generate
from ctop_node.store import open_store
from ctop_node.store.operations import OperationsQueries
from ctop_node.store.outbox import Delivered, Outbox
from ctop_node.store.schema import outbox

PG_DEFAULT = "postgresql+psycopg://root@127.0.0.1:5432/test"


def items(n: int) -> list[RawItem]:
    out: list[RawItem] = []
    trains = 0
    while len(out) < n:
        for rec in generate(1, seed=trains, party="KZ", invalid_share=0.0):
            rec["record_id"] = f"{rec['record_id']}-{trains}"
            out.append(RawItem("bench", f"item {len(out)}", rec))
            if len(out) == n:
                break
        trains += 1
    return out


def fill(url: str, n: int) -> None:
    with open_store(url) as store:
        IngestPipeline(store, Classifier(NodePolicy("KZ"))).run(items(n))
        box = Outbox(store.engine)
        far = datetime.now(UTC) + timedelta(days=1)
        k = 0
        while batch := box.due("CN", 1000, far):
            # receipts from a fraction of a second to half an hour after queueing
            now = datetime.now(UTC)
            box.settle(
                [
                    Delivered(i.id, b"r", now + timedelta(seconds=(k + j) % 1800 / 7))
                    for j, i in enumerate(batch)
                ]
            )
            k += len(batch)


def timed(fn: object, repeat: int = 5) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def measure(url: str, home: Path) -> tuple[float, float, int]:
    with open_store(url, migrate=False) as store:
        collector = NodeCollector(
            OperationsQueries(store.engine),
            Outbox(store.engine),
            home,
            "KZ",
            peers=["CN"],
            clock=lambda: datetime.now(UTC),
        )
        registry = metrics_registry(collector)
        size = len(render(registry))

        def count() -> None:
            with store.engine.connect() as conn:
                conn.execute(select(func.count()).select_from(outbox)).scalar_one()

        return timed(lambda: render(registry)), timed(count), size


def pg_schema_url(base: str) -> tuple[str, str]:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    return f"{base}?options=-csearch_path%3D{schema}", schema


def drop_schema(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        c.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--pg", default=PG_DEFAULT)
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        init_node(home, "KZ")
        head = ("database", "records", "scrape", "count(*)", "ratio", "bytes")
        print("{:<11} {:>8} {:>9} {:>9} {:>6} {:>7}".format(*head))
        for n in (args.records, 4 * args.records):
            dbs: list[tuple[str, str, str | None]] = [
                ("sqlite", f"sqlite:///{tmp}/bench-{n}.db", None)
            ]
            if not args.skip_pg:
                pg_url, pg_schema = pg_schema_url(args.pg)
                dbs.append(("postgresql", pg_url, pg_schema))
            for name, url, schema in dbs:
                try:
                    fill(url, n)
                    scrape, count, size = measure(url, home)
                    print(
                        f"{name:<11} {n:>8,} {scrape * 1000:>7.1f}ms {count * 1000:>7.1f}ms "
                        f"{scrape / count:>6.1f} {size:>7,}"
                    )
                finally:
                    if schema is not None:
                        drop_schema(args.pg, schema)


if __name__ == "__main__":
    main()
