"""``ctop-node ingest`` and ``ctop-node watch``: records from the clearance system."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from ctop_node.cli._common import (
    DbOpt,
    HomeOpt,
    JsonOpt,
    PartyOpt,
    err_console,
    print_error_line,
    print_json,
)
from ctop_node.config import NodeConfig
from ctop_node.errors import InputError, UsageError
from ctop_node.i18n import _
from ctop_node.ingest.formats import reader_for
from ctop_node.ingest.interfaces import RawItem
from ctop_node.ingest.pipeline import Classifier, IngestPipeline, IngestSummary
from ctop_node.rules import NodePolicy
from ctop_node.store import open_store

FormatOpt = Annotated[
    str | None, typer.Option("--format", help="ndjson|json|xml|csv (default: by extension).")
]


def _pipeline(home: Path | None, party: str | None, db: str | None) -> IngestPipeline:
    cfg = NodeConfig.load(home, party=party, db_url=db)
    return IngestPipeline(open_store(cfg.db_url), Classifier(NodePolicy(cfg.party)))


def ingest_file(
    pipeline: IngestPipeline, path: Path, fmt: str | None, *, show_progress: bool
) -> IngestSummary:
    reader = reader_for(path, fmt)
    size = path.stat().st_size if path.exists() else 0
    if not show_progress:
        return pipeline.run(reader.read(path))
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[records]} records"),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    ) as bar:
        task = bar.add_task(path.name, total=size or None, records=0)
        count = 0

        def tick(raw: RawItem) -> None:
            nonlocal count
            count += 1
            if count % 200 == 0:
                bar.update(task, completed=raw.offset, records=count)

        summary = pipeline.run(reader.read(path), progress=tick)
        bar.update(task, completed=size, records=count)
    return summary


def summary_line(s: IngestSummary) -> str:
    d = s.as_dict()
    return _(
        "{read} records read: {to_send} to send, {not_applicable} not applicable, "
        "{excluded} excluded, {refused} refused, {rejected} rejected "
        "({new_versions} new versions, {unchanged} unchanged)"
    ).format(**d)


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files to ingest.")],
    fmt: FormatOpt = None,
    home: HomeOpt = None,
    db: DbOpt = None,
    party: PartyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Read export-clearance records, check them, apply the Protocol's rules and store them."""
    for path in paths:
        reader_for(path, fmt)  # an unknown format is a usage error before anything is read
    pipeline = _pipeline(home, party, db)
    total = IngestSummary()
    try:
        for path in paths:
            try:
                total.merge(ingest_file(pipeline, path, fmt, show_progress=not as_json))
            except InputError as exc:
                raise UsageError(str(exc.message), code=exc.code) from exc
    finally:
        pipeline.store.close()
    if as_json:
        print_json(total.as_dict())
    else:
        for e in total.errors[:50]:
            print_error_line(e)
        if len(total.errors) > 50:
            err_console.print(
                _("... and {n} more errors (use --json for all)").format(
                    n=len(total.errors) - 50 + total.errors_dropped
                )
            )
        typer.echo(summary_line(total))
    raise typer.Exit(1 if total.rejected else 0)


def _stable_files(folder: Path, seen: dict[Path, int]) -> list[Path]:
    """Files whose size did not change since the previous scan: the writer is done."""
    ready = []
    current = {}
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.name.startswith(".") or p.suffix in (".part", ".tmp"):
            continue
        size = p.stat().st_size
        current[p] = size
        if seen.get(p) == size:
            ready.append(p)
    seen.clear()
    seen.update(current)
    return ready


def process_folder_file(pipeline: IngestPipeline, path: Path, fmt: str | None) -> IngestSummary:
    """Ingest one dropped file, then move it to done/ or failed/ (with its error report)."""
    done, failed = path.parent / "done", path.parent / "failed"
    try:
        summary = pipeline.run(reader_for(path, fmt).read(path))
        problem = ""
    except (InputError, UsageError) as exc:
        summary, problem = IngestSummary(), str(exc)
    target = failed if (problem or summary.rejected) else done
    target.mkdir(exist_ok=True)
    dest = target / path.name
    if dest.exists():
        dest = target / f"{path.stem}.{time.strftime('%Y%m%dT%H%M%S')}{path.suffix}"
    shutil.move(str(path), dest)
    if target is failed:
        report = {**summary.as_dict(), "file": path.name, "problem": problem}
        dest.with_name(dest.name + ".errors.json").write_bytes(
            orjson.dumps(report, option=orjson.OPT_INDENT_2)
        )
    return summary


def watch(
    folder: Annotated[Path, typer.Argument(help="Folder the clearance system drops files into.")],
    fmt: FormatOpt = None,
    home: HomeOpt = None,
    db: DbOpt = None,
    party: PartyOpt = None,
    interval: Annotated[float, typer.Option(help="Seconds between scans.")] = 1.0,
    once: Annotated[bool, typer.Option("--once", help="Process what is there, then stop.")] = False,
) -> None:
    """Watch a folder: ingest each file, then move it to done/ or failed/."""
    if not folder.is_dir():
        raise UsageError(_("{folder} is not a folder").format(folder=folder), code="usage.folder")
    pipeline = _pipeline(home, party, db)
    seen: dict[Path, int] = {}
    try:
        while True:
            ready = _stable_files(folder, seen)
            if once and not ready:
                # --once: one more look so files present at start count as stable.
                ready = _stable_files(folder, seen)
            for path in ready:
                summary = process_folder_file(pipeline, path, fmt)
                err_console.print(f"{path.name}: {summary_line(summary)}", highlight=False)
                seen.pop(path, None)
            if once:
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        pipeline.store.close()


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
    app.command("watch")(watch)
