"""One huge string in one record: time and peak memory of each reader to reject it (prints a table).

The record holds one string of SIZE MiB between two ordinary records; each reader must reject
it (input.too_large) in linear time and flat memory. Each case runs in a fresh process so its
peak RSS is its own. The same-run baseline is ijson's yajl parser (what the JSON reader used
before) on a smaller string, to show the growth the scanner avoids.

.venv/bin/python bench/huge_token.py [SIZE_MIB ...]     (default: 64 200)
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SAMPLE = Path(__file__).parents[1] / "tests" / "data" / "record_kz_cn.json"
MIB = 1024 * 1024


def write_case(fmt: str, path: Path, size_mib: int) -> None:
    from ctop_node.ingest.xml_ import to_xml

    record = json.loads(SAMPLE.read_text("utf-8"))
    chunk = b"a" * MIB
    with path.open("wb") as fh:
        if fmt == "xml":
            fh.write(b'<consignments tc="1">' + to_xml(record) + b"<consignment><record_id>")
            for _ in range(size_mib):
                fh.write(chunk)
            fh.write(b"</record_id></consignment>" + to_xml(record) + b"</consignments>")
            return
        one = json.dumps(record).encode()
        head, sep, tail = (b"[", b",", b"]") if fmt == "json" else (b"", b"\n", b"\n")
        fh.write(head + one + sep + b'{"record_id": "KZ-HUGE", "note": "')
        for _ in range(size_mib):
            fh.write(chunk)
        fh.write(b'"}' + sep + one + tail)


def child(fmt: str, path: str) -> None:
    from ctop_node.ingest.formats import READERS

    started = time.perf_counter()
    if fmt == "ijson":
        import ijson  # the JSON reader's parser before issue 8

        with open(path, "rb") as fh:
            codes = [str(sum(1 for _ in ijson.basic_parse(fh, use_float=False)))]
    else:
        items = list(READERS[fmt]().read(Path(path)))
        codes = [i.error.code if i.error else "ok" for i in items]
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mib": peak_mib, "items": codes}))


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mib: float
    items: list[str]


def run(fmt: str, path: Path) -> Run:
    out = subprocess.run(
        [sys.executable, __file__, "--child", fmt, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    result = json.loads(out.stdout)
    return Run(float(result["seconds"]), float(result["peak_mib"]), list(result["items"]))


def main(sizes: list[int]) -> None:
    print("| reader | string | time | peak RSS | items |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="ctop-bench-") as tmp:
        for size in sizes:
            for fmt in ("json", "ndjson", "xml"):
                path = Path(tmp) / f"huge.{fmt}"
                write_case(fmt, path, size)
                r = run(fmt, path)
                print(
                    f"| {fmt} | {size} MiB | {r.seconds:.2f} s | {r.peak_mib:.0f} MiB "
                    f"| {', '.join(r.items)} |"
                )
                path.unlink()
        for size in (4, 16):  # baseline: the quadratic growth of yajl inside one token
            path = Path(tmp) / "huge.json"
            write_case("json", path, size)
            r = run("ijson", path)
            print(
                f"| baseline: ijson/yajl parse only | {size} MiB | {r.seconds:.2f} s "
                f"| {r.peak_mib:.0f} MiB | {r.items[0]} events |"
            )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        main([int(a) for a in sys.argv[1:]] or [64, 200])
