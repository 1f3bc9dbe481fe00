"""The watched folder: files the clearance system drops are ingested once, safely.

The contract with the writer (docs/security.md, "Files and the watched folder"): write the file
under a name that ends in ``.part`` or ``.tmp`` or starts with a dot, in the folder itself, then
rename it to its final name. A rename is atomic, so a file under its final name is complete.
As a second guard a file is taken only when neither its content nor its name changed for a
quiet period (``quiet_s``, by its mtime and ctime against an injectable clock).

What the node will not do, whatever is dropped there:
- follow a symbolic link, or read a FIFO, a device, a socket or a file with several hard links
  (each could make it read a file it was never given, such as its own private keys): the entry
  is opened with ``O_NOFOLLOW | O_NONBLOCK`` and the checks are made on the opened descriptor
  (``fstat``), so nothing can be swapped between the check and the read;
- write through a name it did not create: reports are created with ``O_CREAT | O_EXCL |
  O_NOFOLLOW``, mode 0600, and ``done/`` and ``failed/`` are opened with ``O_NOFOLLOW``;
- stop: a name that is not UTF-8 or a file that cannot be read goes to ``failed/`` with a report
  and the next file is read.

A file that was read goes to ``done/``, with a report listing its rejected records if it had
any; only a file that could not be read as a file goes to ``failed/``.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ctop_node.errors import InputError, UsageError
from ctop_node.i18n import _
from ctop_node.ingest.errortext import printable
from ctop_node.ingest.formats import reader_for
from ctop_node.ingest.interfaces import RawItem
from ctop_node.ingest.pipeline import IngestPipeline, IngestSummary

DONE, FAILED = "done", "failed"
DEFAULT_QUIET_S = 2.0
IN_PROGRESS_SUFFIXES = (b".part", b".tmp")
REPORT_SUFFIX = ".errors.json"
REPORT_MODE = 0o600
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_REPORT_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass
class FileResult:
    """What became of one dropped file."""

    name: str  # printable (a name that is not UTF-8 is shown escaped)
    moved_to: str  # "done/<name>" or "failed/<name>"; "" if it vanished before the move
    summary: IngestSummary = field(default_factory=IngestSummary)
    problem: str = ""  # why the file could not be read as a file; "" when it was read
    report: str | None = None  # the report's path under the folder, when one was written

    @property
    def failed(self) -> bool:
        return bool(self.problem)

    @property
    def clean(self) -> bool:
        """Read, and nothing in it rejected."""
        return not self.problem and not self.summary.rejected


class _NotReady(Exception):
    pass


class _Unreadable(Exception):
    def __init__(self, problem: str, summary: IngestSummary | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.summary = summary or IngestSummary()


class FolderWatcher:
    """Scans one folder; ``scan()`` takes every file that is ready, once."""

    def __init__(
        self,
        folder: Path,
        pipeline: IngestPipeline,
        *,
        fmt: str | None = None,
        quiet_s: float = DEFAULT_QUIET_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if quiet_s < 0:
            raise UsageError(
                _("the quiet period of the watched folder cannot be negative"),
                code="usage.quiet_period",
            )
        self.folder = folder
        self.pipeline = pipeline
        self.fmt = fmt
        self.quiet_s = quiet_s
        self.clock = clock  # wall clock: compared with the files' mtime and ctime

    def scan(self) -> list[FileResult]:
        """Ingest and move every file that is ready; return what became of each."""
        try:
            src = os.open(self.folder, _DIR_FLAGS)
        except OSError as exc:
            raise UsageError(
                _("{folder}: cannot open the watched folder: {reason}").format(
                    folder=self.folder, reason=exc.strerror
                ),
                code="usage.folder",
            ) from exc
        try:
            done, failed = self._subfolder(src, DONE), self._subfolder(src, FAILED)
            try:
                return [
                    result
                    for name in sorted(os.listdir(src))
                    if (result := self._one(src, done, failed, os.fsencode(name))) is not None
                ]
            finally:
                os.close(done)
                os.close(failed)
        finally:
            os.close(src)

    def _subfolder(self, src: int, name: str) -> int:
        try:
            os.mkdir(name, 0o700, dir_fd=src)
        except FileExistsError:
            pass
        try:
            return os.open(name, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=src)
        except OSError as exc:
            raise UsageError(
                _(
                    "{path} is not a folder the watcher created ({reason}); it will not write there"
                ).format(path=f"{self.folder}/{name}", reason=exc.strerror),
                code="usage.folder",
            ) from exc

    # -- one file -----------------------------------------------------------------------

    def _one(self, src: int, done: int, failed: int, raw_name: bytes) -> FileResult | None:
        if raw_name.startswith(b".") or raw_name.endswith(IN_PROGRESS_SUFFIXES):
            return None  # still being written: renamed into place when complete
        try:
            st = os.stat(raw_name, dir_fd=src, follow_symlinks=False)
        except FileNotFoundError:
            return None
        if stat.S_ISDIR(st.st_mode) or not self._quiet(st):
            return None
        shown = printable(raw_name.decode("utf-8", "backslashreplace"))
        try:
            name = raw_name.decode("utf-8")
        except UnicodeDecodeError:
            problem = "the file name is not valid UTF-8; the file was not read"
            return self._finish(src, failed, raw_name, shown, IngestSummary(), problem)
        try:
            summary = self._ingest(src, raw_name, name)
        except _NotReady:
            return None
        except _Unreadable as exc:
            return self._finish(src, failed, raw_name, shown, exc.summary, exc.problem)
        return self._finish(src, done, raw_name, shown, summary, "")

    def _quiet(self, st: os.stat_result) -> bool:
        return self.clock() - max(st.st_mtime, st.st_ctime) >= self.quiet_s

    def _ingest(self, src: int, raw_name: bytes, name: str) -> IngestSummary:
        try:
            reader = reader_for(Path(name), self.fmt)
        except UsageError as exc:
            raise _Unreadable(exc.message) from exc
        try:
            fd = os.open(raw_name, _OPEN_FLAGS, dir_fd=src)
        except FileNotFoundError as exc:
            raise _NotReady from exc  # taken away since the listing: nothing to do
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _Unreadable("the entry is a symbolic link; links are not followed") from exc
            raise _Unreadable(f"the file cannot be opened: {exc.strerror}") from exc
        try:
            st = os.fstat(fd)
            _check_opened(st)
            if not self._quiet(st):
                raise _NotReady
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
            stream = os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise
        counted = _Counted(reader.read_open(stream, name))
        try:
            summary = self.pipeline.run(counted)
        except InputError as exc:
            raise _Unreadable(exc.message) from exc
        finally:
            stream.close()
        if counted.items and not counted.records:
            # Not one record could be read from it (malformed from the start, say).
            raise _Unreadable(_first_problem(summary), summary) from None
        return summary

    def _finish(
        self,
        src: int,
        target: int,
        raw_name: bytes,
        shown: str,
        summary: IngestSummary,
        problem: str,
    ) -> FileResult:
        where = FAILED if problem else DONE
        try:
            moved = _move(src, target, raw_name)
            moved_shown = printable(moved.decode("utf-8", "backslashreplace"))
            result = FileResult(shown, f"{where}/{moved_shown}", summary, problem)
        except FileNotFoundError:  # removed by its writer meanwhile: the report still says so
            moved_shown = shown
            result = FileResult(shown, "", summary, problem or "the file vanished while read")
        if result.problem or summary.rejected or summary.errors:
            report: dict[str, Any] = {
                **summary.as_dict(),
                "file": shown,
                "moved_to": result.moved_to,
                "problem": result.problem,
            }
            written = _write_report(target, moved_shown, orjson.dumps(report, option=_INDENT))
            result.report = f"{where}/{written}"
        return result


_INDENT = orjson.OPT_INDENT_2


def _check_opened(st: os.stat_result) -> None:
    """Checks on the descriptor actually opened, not on the name (no check-then-open race)."""
    if not stat.S_ISREG(st.st_mode):
        raise _Unreadable("the entry is not a regular file (a FIFO, device or socket)")
    if st.st_nlink > 1:
        raise _Unreadable(
            f"the file has {st.st_nlink} hard links and may be another file of this system; "
            "drop a copy, not a link"
        )


class _Counted:
    """The reader's items, counting how many carried a record (as opposed to a read error)."""

    def __init__(self, items: Iterable[RawItem]) -> None:
        self._items = items
        self.items = 0
        self.records = 0

    def __iter__(self) -> Iterator[RawItem]:
        for item in self._items:
            self.items += 1
            self.records += item.data is not None
            yield item


def _first_problem(summary: IngestSummary) -> str:
    if summary.errors:
        return str(summary.errors[0]["message"])
    return "no record could be read from the file"


def _move(src: int, target: int, raw_name: bytes) -> bytes:
    """Rename the entry into ``target`` under a name not yet taken there; the new name.

    A rename replaces a directory entry and never writes through it, so even a symbolic link
    planted under the chosen name could only be replaced, not followed."""
    stem, dot, suffix = raw_name.rpartition(b".")
    if not dot or not stem:
        stem, suffix = raw_name, b""
    candidate = raw_name
    for n in range(1, 10_000):
        try:
            os.stat(candidate, dir_fd=target, follow_symlinks=False)
        except FileNotFoundError:
            os.rename(raw_name, candidate, src_dir_fd=src, dst_dir_fd=target)
            return candidate
        stamp = time.strftime("%Y%m%dT%H%M%S").encode()
        candidate = stem + b"." + stamp + b"-" + str(n).encode() + (b"." + suffix if dot else b"")
    shown = printable(raw_name.decode("utf-8", "backslashreplace"))
    raise UsageError(
        _("no free name left in the watched folder for {name}").format(name=shown),
        code="usage.folder",
    )


def _write_report(target: int, name: str, body: bytes) -> str:
    """Create the report under a name nobody else created (O_EXCL, no link followed), 0600."""
    base = name + REPORT_SUFFIX
    candidate = base
    for n in range(2, 10_000):
        try:
            fd = os.open(candidate, _REPORT_FLAGS, REPORT_MODE, dir_fd=target)
        except FileExistsError:
            candidate = f"{name}.errors-{n}.json"
            continue
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), REPORT_MODE)  # whatever the process umask says
            fh.write(body)
        return candidate
    raise UsageError(
        _("no free name left in the watched folder for {name}").format(name=base),
        code="usage.folder",
    )
