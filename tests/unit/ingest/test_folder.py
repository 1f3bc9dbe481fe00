"""The watched folder: links and special files are never read, reports never written through a
name the node did not create, files taken only when complete, one bad file never stops the loop.
Time comes from an injected clock compared with the files' own mtime/ctime: no sleeps."""

from __future__ import annotations

import copy
import json
import os
import stat
from pathlib import Path
from typing import Any

import orjson
import pytest

from ctop_node.errors import UsageError
from ctop_node.ingest.folder import FolderWatcher
from ctop_node.ingest.pipeline import Classifier, IngestPipeline
from ctop_node.rules import NodePolicy
from ctop_node.store import SqlStore

KEY_LINES = [
    "-----BEGIN PRIVATE KEY-----",
    "MC4CAQAwBQYDK2VwBCIEIKeyLineThatMustNeverLeaveTheNodeHomeAbCdEf",
    "-----END PRIVATE KEY-----",
]


class Clock:
    """Wall-clock seconds, moved by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _changed(path: Path) -> float:
    st = os.stat(path, follow_symlinks=False)
    return max(st.st_mtime, st.st_ctime)


def _later(*paths: Path, by: float = 10.0) -> Clock:
    return Clock(max(_changed(p) for p in paths) + by)


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    return folder


def _watcher(folder: Path, store: SqlStore, clock: Clock, quiet_s: float = 2.0) -> FolderWatcher:
    pipeline = IngestPipeline(store, Classifier(NodePolicy("KZ")))
    return FolderWatcher(folder, pipeline, quiet_s=quiet_s, clock=clock)


def _ndjson(*records: dict[str, Any]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def _with_id(record: dict[str, Any], rid: str) -> dict[str, Any]:
    out = copy.deepcopy(record)
    out["record_id"] = rid
    return out


def _everything_written(folder: Path, store: SqlStore) -> str:
    texts = [json.dumps(store.ingest_log(limit=10_000), default=str)]
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            texts.append(path.read_text("utf-8", "replace"))
    return "\n".join(texts)


def test_symlink_to_a_private_key_is_not_read_and_leaks_nothing(
    tmp_path: Path, drop: Path, store: SqlStore
) -> None:
    """Issue 8, finding 4: the CSV reader quoted the key's lines into the report."""
    key = tmp_path / "home" / "keys" / "sign.key"
    key.parent.mkdir(parents=True)
    key.write_text("\n".join(KEY_LINES) + "\n", "utf-8")
    (drop / "k.csv").symlink_to(key)
    [result] = _watcher(drop, store, _later(drop / "k.csv")).scan()
    assert result.failed and result.moved_to == "failed/k.csv"
    assert "symbolic link" in result.problem
    assert (drop / "failed" / "k.csv").is_symlink()  # moved as a link, never followed
    report = drop / "failed" / "k.csv.errors.json"
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    written = _everything_written(drop, store)
    for line in KEY_LINES[1:2]:
        assert line not in written and line[:20] not in written
    assert key.read_text("utf-8").splitlines() == KEY_LINES


def test_planted_symlink_at_the_report_name_is_not_written_through(
    tmp_path: Path, drop: Path, store: SqlStore
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", "utf-8")
    (drop / "failed").mkdir()
    (drop / "failed" / "broken.json.errors.json").symlink_to(victim)
    (drop / "broken.json").write_bytes(b"[{broken")
    [result] = _watcher(drop, store, _later(drop / "broken.json")).scan()
    assert result.failed and result.report is not None
    assert result.report != "failed/broken.json.errors.json"
    assert victim.read_text("utf-8") == "precious\n"
    report = json.loads((drop / result.report).read_text("utf-8"))
    assert report["file"] == "broken.json" and report["problem"]


@pytest.mark.parametrize("sub", ["done", "failed"])
def test_done_or_failed_as_a_symlink_is_refused(
    tmp_path: Path, drop: Path, store: SqlStore, sub: str
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (drop / sub).symlink_to(elsewhere)
    with pytest.raises(UsageError):
        _watcher(drop, store, Clock(0)).scan()


def test_fifo_and_hard_linked_file_are_not_read(
    tmp_path: Path, drop: Path, store: SqlStore, record_dict: dict[str, Any]
) -> None:
    os.mkfifo(drop / "pipe.ndjson")  # opening it for reading must not block the loop
    outside = tmp_path / "outside.ndjson"
    outside.write_bytes(_ndjson(record_dict))
    os.link(outside, drop / "linked.ndjson")
    clock = _later(drop / "pipe.ndjson", drop / "linked.ndjson")
    results = {r.name: r for r in _watcher(drop, store, clock).scan()}
    assert "not a regular file" in results["pipe.ndjson"].problem
    assert "hard links" in results["linked.ndjson"].problem
    assert store.get_record(record_dict["record_id"]) is None


def test_a_file_is_taken_only_after_the_quiet_period(
    drop: Path, store: SqlStore, record_dict: dict[str, Any]
) -> None:
    """Issue 8, finding 5: a writer that paused lost its records and the file was done."""
    path = drop / "slow.ndjson"
    path.write_bytes(_ndjson(_with_id(record_dict, "KZ-Q-1")))
    clock = Clock(_changed(path) + 1.0)
    watcher = _watcher(drop, store, clock, quiet_s=2.0)
    assert watcher.scan() == []  # written 1 s ago: maybe not finished
    with path.open("ab") as fh:  # the writer goes on
        fh.write(_ndjson(_with_id(record_dict, "KZ-Q-2")))
    clock.now = _changed(path) + 1.9
    assert watcher.scan() == []
    clock.now = _changed(path) + 2.0
    [result] = watcher.scan()
    assert result.clean and result.summary.read == 2


def test_part_and_dot_files_wait_for_their_rename(
    drop: Path, store: SqlStore, record_dict: dict[str, Any]
) -> None:
    part = drop / "batch.ndjson.part"
    part.write_bytes(_ndjson(record_dict))
    (drop / ".hidden.ndjson").write_bytes(_ndjson(record_dict))
    clock = _later(part, by=3600)
    watcher = _watcher(drop, store, clock)
    assert watcher.scan() == []
    final = drop / "batch.ndjson"
    part.rename(final)  # the rename changes ctime: the quiet period starts again
    clock.now = _changed(final)
    assert watcher.scan() == []
    clock.now = _changed(final) + 2.0
    [result] = watcher.scan()
    assert result.name == "batch.ndjson" and result.moved_to == "done/batch.ndjson"


def test_name_that_is_not_utf8_goes_to_failed_and_the_loop_goes_on(
    drop: Path, store: SqlStore, record_dict: dict[str, Any]
) -> None:
    bad = os.path.join(os.fsencode(drop), b"a-\xff.ndjson")
    with open(bad, "wb") as fh:
        fh.write(_ndjson(record_dict))
    good = drop / "b.ndjson"
    good.write_bytes(_ndjson(_with_id(record_dict, "KZ-U-2")))
    results = _watcher(drop, store, _later(good)).scan()
    assert [r.name for r in results] == ["a-\\xff.ndjson", "b.ndjson"]
    assert results[0].failed and "UTF-8" in results[0].problem
    assert os.path.exists(os.path.join(os.fsencode(drop), b"failed", b"a-\xff.ndjson"))
    assert (drop / "failed" / "a-\\xff.ndjson.errors.json").exists()
    assert results[1].clean and store.get_record("KZ-U-2") is not None


def test_file_with_some_rejected_records_goes_to_done_with_its_report(
    drop: Path, store: SqlStore, record_dict: dict[str, Any]
) -> None:
    """127 good rows and 2 bad ones: the file went whole to failed/ though 127 were stored."""
    good = [_with_id(record_dict, f"KZ-M-{i:03d}") for i in range(127)]
    bad = [_with_id(record_dict, f"KZ-MBAD-{i}") for i in range(2)]
    for b in bad:
        b["wagons"][0]["number"] = "52000511"  # wrong check digit
    path = drop / "mixed.ndjson"
    path.write_bytes(_ndjson(*good[:60], bad[0], *good[60:], bad[1]))
    [result] = _watcher(drop, store, _later(path)).scan()
    assert not result.failed and result.moved_to == "done/mixed.ndjson"
    assert (result.summary.counts["to_send"], result.summary.rejected) == (127, 2)
    assert result.report == "done/mixed.ndjson.errors.json"
    report = json.loads((drop / result.report).read_text("utf-8"))
    assert [e["record_id"] for e in report["errors"]] == ["KZ-MBAD-0", "KZ-MBAD-1"]
    assert stat.S_IMODE((drop / result.report).stat().st_mode) == 0o600


def test_a_file_of_which_nothing_can_be_read_goes_to_failed(
    drop: Path, store: SqlStore, record_dict: dict[str, Any]
) -> None:
    (drop / "broken.xml").write_bytes(b"<consignments><consignment>")
    (drop / "good.ndjson").write_bytes(_ndjson(record_dict))
    (drop / "name.unknown").write_bytes(b"x")
    results = {r.name: r for r in _watcher(drop, store, _later(drop / "good.ndjson")).scan()}
    assert results["broken.xml"].moved_to == "failed/broken.xml"
    assert results["name.unknown"].moved_to == "failed/name.unknown"
    assert results["good.ndjson"].moved_to == "done/good.ndjson"
    assert results["good.ndjson"].report is None


def test_a_second_file_of_the_same_name_does_not_replace_the_first(
    drop: Path, store: SqlStore, record_dict: dict[str, Any]
) -> None:
    path = drop / "same.ndjson"
    path.write_bytes(_ndjson(record_dict))
    watcher = _watcher(drop, store, _later(path))
    [first] = watcher.scan()
    path.write_bytes(_ndjson(_with_id(record_dict, "KZ-SAME-2")))
    watcher.clock = _later(path)
    [second] = watcher.scan()
    assert first.moved_to == "done/same.ndjson" and second.moved_to != first.moved_to
    assert len(list((drop / "done").iterdir())) == 2
