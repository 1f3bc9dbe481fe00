"""``ctop-node ingest`` and ``ctop-node watch``: records from the clearance system."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from ctop_node.cli._common import (
    DbOpt,
    FormatOpt,
    HomeOpt,
    JsonOpt,
    PartyOpt,
    err_console,
    print_error_line,
    print_json,
)
from ctop_node.config import NodeConfig
from ctop_node.errors import InputError, UsageError
from ctop_node.i18n import N_, _
from ctop_node.ingest.folder import DEFAULT_QUIET_S, FileResult, FolderWatcher
from ctop_node.ingest.formats import reader_for
from ctop_node.ingest.interfaces import RawItem
from ctop_node.ingest.pipeline import Classifier, IngestPipeline, IngestSummary
from ctop_node.rules import NodePolicy
from ctop_node.store import open_store


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
    paths: Annotated[list[Path], typer.Argument(help=N_("Files to ingest."))],
    fmt: FormatOpt = None,
    home: HomeOpt = None,
    db: DbOpt = None,
    party: PartyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Read export-clearance records, check them, apply the Protocol's rules and store them.

    \b
    Examples:
      ctop-node ingest train-0001.ndjson --home /var/lib/ctop
      ctop-node ingest exports/*.xml --format xml --home /var/lib/ctop --json
    """
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


def watch(
    folder: Annotated[
        Path, typer.Argument(help=N_("Folder the clearance system drops files into."))
    ],
    fmt: FormatOpt = None,
    home: HomeOpt = None,
    db: DbOpt = None,
    party: PartyOpt = None,
    interval: Annotated[float, typer.Option(help=N_("Seconds between scans."))] = 1.0,
    quiet_period: Annotated[
        float,
        typer.Option(
            "--quiet-period",
            help=N_(
                "Seconds a file must stay unchanged before it is taken (files are expected "
                "to be renamed into the folder when complete)."
            ),
        ),
    ] = DEFAULT_QUIET_S,
    once: Annotated[
        bool, typer.Option("--once", help=N_("Process what is there, then stop."))
    ] = False,
) -> None:
    """Watch a folder: ingest each file, then move it to done/ or failed/ (see docs/security.md).

    With --once the exit status is 1 when a file failed or a record was rejected.

    \b
    Examples:
      ctop-node watch /var/spool/ctop/in --home /var/lib/ctop
      ctop-node watch /var/spool/ctop/in --home /var/lib/ctop --format csv --once
    """
    if not folder.is_dir():
        raise UsageError(_("{folder} is not a folder").format(folder=folder), code="usage.folder")
    pipeline = _pipeline(home, party, db)
    watcher = FolderWatcher(folder, pipeline, fmt=fmt, quiet_s=quiet_period)
    clean = True
    try:
        while True:
            for result in watcher.scan():
                clean = clean and result.clean
                _print_result(result)
            if once:
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        pipeline.store.close()
    if once and not clean:
        raise typer.Exit(1)


def _print_result(result: FileResult) -> None:
    if result.failed:
        line = _("{name}: the watched folder did not read it ({problem}); moved to {moved}").format(
            name=result.name, problem=result.problem, moved=result.moved_to
        )
    else:
        line = f"{result.name}: {summary_line(result.summary)}"
    if result.report:
        line += " " + _("(watched-folder report: {report})").format(report=result.report)
    err_console.print(line, highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
    app.command("watch")(watch)
