"""Receiver benchmark: messages/s through ``Receiver.handle_batch`` on SQLite and PostgreSQL.

    .venv/bin/python bench/receiver.py [--messages N] [--pg URL] [--skip-pg]

Fresh KZ and CN homes (real keys); N CONSIGNMENT messages from ``ctop-node sample`` records
(KZ -> CN) are sealed up front (not timed). Printed per database: the time to handle them in
batches of 500 (strict open, checks, then one transaction per batch with the sealed answers),
the same N again (replays: answered from the inbox), and in the same run the raw crypto
floor: ``open_`` + sealing one answer per message, without the database.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests._homes import Home, make_pair
from tests.unit.online._peers import record_message

from ctop_node.crypto.envelope import EnvelopeHeader, open_, seal
from ctop_node.exchange.receive import Receiver
from ctop_node.model.canonical import canonical_bytes
from ctop_node.model.messages import MessageType
from ctop_node.model.record import Consignment
from ctop_node.rules.routing import reaches_after
from ctop_node.sample import generate
from ctop_node.store import open_store
from ctop_node.store.inbox import Inbox

PG_DEFAULT = "postgresql+psycopg://root@127.0.0.1:5432/test"
BATCH = 500


def messages(kz: Home, n: int) -> list[bytes]:
    out: list[bytes] = []
    seed = 1
    while len(out) < n:
        for data in generate(
            50, seed, party="KZ", invalid_share=0, excluded_share=0, not_applicable_share=0
        ):
            try:
                record = Consignment.model_validate(data)
            except ValueError:
                continue
            if not reaches_after(record.route.sequence(), "KZ", "CN"):
                continue
            out.append(record_message(kz, data))
            if len(out) == n:
                break
        seed += 1
    return out


def crypto_floor(kz: Home, cn: Home, raws: list[bytes]) -> float:
    trust, dec, signer = cn.trust(), cn.decryptor, cn.signer
    key = trust.recipient_key("KZ")
    start = time.perf_counter()
    for raw in raws:
        opened = open_(raw, trust, dec, "CN")
        header = EnvelopeHeader.new(
            MessageType.RECEIPT, sender="CN", recipient="KZ", tc_version="1"
        )
        seal(header, canonical_bytes({"m": opened.header.message_id}), signer, key)
    return time.perf_counter() - start


def run(url: str, cn: Home, raws: list[bytes]) -> tuple[float, float]:
    with open_store(url) as store:
        receiver = Receiver("CN", Inbox(store.engine), cn.signer, cn.decryptor, cn.trust())
        timings = []
        for _ in range(2):  # first pass stores, second pass is all replays
            start = time.perf_counter()
            for i in range(0, len(raws), BATCH):
                results = receiver.handle_batch(raws[i : i + BATCH])
                assert all(r.status == "receipt" for r in results), results[0]
            timings.append(time.perf_counter() - start)
        assert receiver.inbox.count_applied("KZ") == len(raws)
    return timings[0], timings[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--pg", default=PG_DEFAULT)
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        kz, cn = make_pair(root)
        raws = messages(kz, args.messages)
        n = len(raws)
        floor = crypto_floor(kz, cn, raws)
        print(f"{n} messages, avg {sum(map(len, raws)) // n} bytes each")
        print(f"crypto floor (open + seal answer, no DB): {n / floor:8.0f} msg/s")
        targets = [("sqlite", f"sqlite:///{root / 'cn.db'}")]
        schema = None
        if not args.skip_pg:
            schema = "bench_" + uuid.uuid4().hex[:8]
            engine = create_engine(args.pg)
            with engine.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            targets.append(("postgresql", f"{args.pg}?options=-csearch_path%3D{schema}"))
        try:
            for name, url in targets:
                first, replay = run(url, cn, raws)
                print(
                    f"{name:10s} handle_batch: {n / first:8.0f} msg/s "
                    f"({first * 1000 / n:.2f} ms/msg, {n / first / (n / floor):.0%} of the floor); "
                    f"replays: {n / replay:8.0f} msg/s"
                )
        finally:
            if schema is not None:
                with engine.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


if __name__ == "__main__":
    main()
