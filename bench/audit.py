"""Art.6 costs (prints figures): audit-chain appends and verification, and storing records
with and without encryption at rest, on SQLite and PostgreSQL, in the same run.

    .venv/bin/python bench/audit.py [--entries N] [--records N] [--pg URL] [--skip-pg]

- append: entries/s through ``AuditChain.record`` (one transaction each, a signed checkpoint
  every 100 entries), the way the CLI and API write them;
- verify: entries/s of ``verify_chain`` over the whole table read back;
- at rest: records/s of ``write_batch`` (batches of 500) without a key, then with
  ``CTOP_AT_REST_KEY_FILE`` set: the ratio is the cost of sealing.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import tempfile
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psycopg

from ctop_node.access.audit_chain import AuditChain
from ctop_node.access.audit_verify import verify_chain
from ctop_node.crypto.node import init_node
from ctop_node.crypto.software import SoftwareSigner
from ctop_node.model.canonical import canonical_bytes, digest
from ctop_node.model.outcome import OutcomeKind
from ctop_node.store import open_store
from ctop_node.store.at_rest import KEY_ENV, Keyring
from ctop_node.store.audit import AuditLog
from ctop_node.store.interfaces import Accepted, IngestEntry
from ctop_node.tc import DEFAULT_REGISTRY

SAMPLE = Path(__file__).parents[1] / "tests" / "data" / "record_kz_cn.json"


def entries(n: int) -> list[IngestEntry]:
    base = json.loads(SAMPLE.read_text("utf-8"))
    tc = DEFAULT_REGISTRY.latest
    out = []
    for i in range(n):
        rec = copy.deepcopy(base)
        rec["record_id"] = f"KZ-BENCH-{i:07d}"
        record = tc.validate_record(rec)
        body = canonical_bytes(record)
        out.append(
            IngestEntry(
                "bench",
                str(i),
                rec["record_id"],
                OutcomeKind.NOT_APPLICABLE,
                "bench",
                accepted=Accepted(record, tc.version, digest(body), body),  # type: ignore[arg-type]
            )
        )
    return out


def audit_figures(url: str, n: int, signer: SoftwareSigner) -> tuple[float, float]:
    with open_store(url) as store:
        chain = AuditChain(AuditLog(store.engine), signer=signer)
        t0 = time.perf_counter()
        for i in range(n):
            chain.record("bench", "records.show", f"record:CN/CN-{i}/v1", origin="bench")
        append = n / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        log = AuditLog(store.engine)
        report = verify_chain(
            [e.as_dict() for e in log.entries()], [asdict(c) for c in log.checkpoints()]
        )
        verify = n / (time.perf_counter() - t0)
        assert report.ok and report.entries == n
    return append, verify


def store_rate(url: str, batch: list[IngestEntry]) -> float:
    with open_store(url) as store:
        t0 = time.perf_counter()
        for i in range(0, len(batch), 500):
            store.write_batch(batch[i : i + 500], origin_party="CN", direction="in")
        return len(batch) / (time.perf_counter() - t0)


def pg_schema(base: str) -> tuple[str, Any]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    raw = base.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with psycopg.connect(raw, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    return f"{base}?options=-csearch_path%3D{schema}", drop


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=2000)
    ap.add_argument("--records", type=int, default=5000)
    ap.add_argument("--pg", default="postgresql+psycopg://root@127.0.0.1:5432/test")
    ap.add_argument("--skip-pg", action="store_true")
    args = ap.parse_args()
    batch = entries(args.records)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        init_node(root / "home", "CN")
        signer = SoftwareSigner.from_home(root / "home")
        key = root / "at-rest.json"
        Keyring.generate().save(key)
        dbs = ["sqlite"] + ([] if args.skip_pg else ["postgresql"])
        for db in dbs:
            urls, drops = [], []
            for _ in range(3):
                if db == "sqlite":
                    urls.append(f"sqlite:///{root / uuid.uuid4().hex}.db")
                else:
                    url, drop = pg_schema(args.pg)
                    urls.append(url)
                    drops.append(drop)
            try:
                append, verify = audit_figures(urls[0], args.entries, signer)
                plain = store_rate(urls[1], batch)
                os.environ[KEY_ENV] = str(key)
                sealed = store_rate(urls[2], batch)
                del os.environ[KEY_ENV]
            finally:
                for drop in drops:
                    drop()
            print(
                f"{db:10} audit append {append:8.0f} entries/s   verify {verify:9.0f} entries/s   "
                f"store {plain:7.0f} rec/s plain, {sealed:7.0f} rec/s sealed "
                f"(x{sealed / plain:.2f})"
            )


if __name__ == "__main__":
    main()
