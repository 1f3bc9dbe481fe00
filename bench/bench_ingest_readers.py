"""Reader throughput: records/s of each ingest reader on a 10,000-record file (prints figures).

.venv/bin/python bench/bench_ingest_readers.py [N]
"""

from __future__ import annotations

import copy
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from ctop_node.ingest.csv_ import CsvReader, write_csv
from ctop_node.ingest.interfaces import Reader
from ctop_node.ingest.json_ import JsonReader
from ctop_node.ingest.ndjson import NdjsonReader
from ctop_node.ingest.xml_ import XmlReader, to_xml_document
from ctop_node.tc import DEFAULT_REGISTRY

SAMPLE = Path(__file__).parents[1] / "tests" / "data" / "record_kz_cn.json"


def records(n: int) -> list[dict[str, Any]]:
    base = json.loads(SAMPLE.read_text("utf-8"))
    out = []
    for i in range(n):
        rec = copy.deepcopy(base)
        rec["record_id"] = f"KZ-BENCH-{i:07d}"
        out.append(rec)
    return out


def measure(reader: Reader, path: Path, validate: bool) -> tuple[int, float]:
    validate_record = DEFAULT_REGISTRY.latest.validate_record
    started = time.perf_counter()
    n = 0
    for item in reader.read(path):
        assert item.data is not None, item.error
        if validate:
            validate_record(item.data)
        n += 1
    return n, time.perf_counter() - started


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    recs = records(n)
    csv_text = io.StringIO()
    write_csv(recs, csv_text)
    files: dict[str, tuple[Reader, bytes]] = {
        "ndjson": (NdjsonReader(), b"".join(orjson.dumps(r) + b"\n" for r in recs)),
        "json": (JsonReader(), orjson.dumps(recs)),
        "xml": (XmlReader(), to_xml_document(recs)),
        "csv": (CsvReader(), csv_text.getvalue().encode()),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, (reader, data) in files.items():
            path = Path(tmp) / f"bench.{fmt}"
            path.write_bytes(data)
            for validate in (False, True):
                best = min(measure(reader, path, validate)[1] for _ in range(3))
                label = "read+validate" if validate else "read"
                print(
                    f"{fmt:7s} {label:14s} {n} records, {len(data) / 1e6:6.1f} MB: "
                    f"{n / best:9,.0f} records/s ({best * 1000:7.1f} ms)"
                )


if __name__ == "__main__":
    main()
