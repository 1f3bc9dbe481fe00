"""``ctop-node sample``: write realistic, deterministic sample records (NDJSON, JSON, CSV, XML)."""

from __future__ import annotations

import io
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ctop_node.errors import InputError, UsageError
from ctop_node.i18n import N_, _
from ctop_node.sample import Sample, samples


class Format(StrEnum):
    NDJSON = "ndjson"
    JSON = "json"
    CSV = "csv"
    XML = "xml"


class SideParty(StrEnum):
    KZ = "KZ"
    CN = "CN"


Record = dict[str, Any]


def _ndjson(records: Iterable[Record], out: IO[bytes]) -> None:
    for record in records:
        out.write(orjson.dumps(record) + b"\n")


def _json(records: Iterable[Record], out: IO[bytes]) -> None:
    # An array written piece by piece: never the whole sample in memory.
    sep = b"[\n"
    for record in records:
        out.write(sep + orjson.dumps(record))
        sep = b",\n"
    out.write(b"[]\n" if sep == b"[\n" else b"\n]\n")


def _csv(records: Iterable[Record], out: IO[bytes]) -> None:
    from ctop_node.ingest.csv_ import write_csv  # the layout the CSV reader reads back

    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    try:
        write_csv(records, text)
    finally:
        text.detach()


def _xml(records: Iterable[Record], out: IO[bytes]) -> None:
    from ctop_node.ingest.xml_ import iter_xml_document

    for chunk in iter_xml_document(records):
        out.write(chunk)


_WRITERS = {Format.NDJSON: _ndjson, Format.JSON: _json, Format.CSV: _csv, Format.XML: _xml}


def _parse_start(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(
            _(
                "--start must be an ISO 8601 time, e.g. 2026-11-25T00:00:00+00:00 (got {value})"
            ).format(value=value)
        ) from exc
    return at if at.utcoffset() is not None else at.replace(tzinfo=UTC)


class _Tally:
    """Counts what passes through, by the outcome each record was built to reach."""

    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.records = 0
        self.train = 0

    def records_of(
        self, stream: Iterator[Sample], on_train: Callable[[], None] | None = None
    ) -> Iterator[Record]:
        for s in stream:
            if s.train != self.train:
                if on_train is not None and self.train:
                    on_train()
                self.train = s.train
            self.records += 1
            self.outcomes[s.expected.value] += 1
            yield s.record
        if on_train is not None and self.train:
            on_train()


def sample(
    trains: Annotated[int, typer.Option("--trains", min=0, help=N_("Number of trains."))] = 10,
    seed: Annotated[int, typer.Option("--seed", help=N_("Seed: same seed, same bytes."))] = 2021,
    party: Annotated[
        SideParty | None,
        typer.Option("--party", help=N_("Records of this Party's node only (default: both).")),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help=N_("Output file (default: standard output)."))
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help=N_("Output format."))] = Format.NDJSON,
    invalid_share: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help=N_("Share of records with one deliberate error.")),
    ] = 0.03,
    excluded_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help=N_("Share of postal / personal-use records."))
    ] = 0.02,
    not_applicable_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help=N_("Share of trains not for the peer (Art.2)."))
    ] = 0.2,
    secret_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help=N_("Share of records flagged state secret."))
    ] = 0.0,
    start: Annotated[
        str | None,
        typer.Option(help=N_("First train's time, ISO 8601 (default: 2026-11-25T00:00:00+00:00).")),
    ] = None,
) -> None:
    """Write realistic, deterministic sample records: trains of containers over the KZ-CN border.

    \b
    Examples:
      ctop-node sample --trains 3 --party KZ --out train-0001.ndjson
      ctop-node sample --trains 10 --seed 7 --format xml --invalid-share 0.1 --out trains.xml
    """
    stream = samples(
        trains,
        seed,
        party=party.value if party else None,
        invalid_share=invalid_share,
        excluded_share=excluded_share,
        not_applicable_share=not_applicable_share,
        secret_share=secret_share,
        start=_parse_start(start),
    )
    writer = _WRITERS[fmt]
    tally = _Tally()
    began = time.perf_counter()
    err = Console(stderr=True)
    if out is None:
        writer(tally.records_of(stream), sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        try:
            fh = out.open("wb")
        except OSError as exc:
            raise InputError(
                _("cannot write {path}: {reason}").format(path=out, reason=exc.strerror),
                code="input.unwritable",
                source=str(out),
            ) from exc
        with fh, _progress(err) as progress:
            task = progress.add_task(_("Trains"), total=trains)
            writer(tally.records_of(stream, lambda: progress.advance(task)), fh)
    elapsed = time.perf_counter() - began
    o = tally.outcomes
    err.print(
        _(
            "{records} records of {trains} trains written to {target} in {seconds} s "
            "({rate} records/s): {to_send} to send, {na} not applicable, "
            "{excluded} excluded, {refused} refused, {invalid} invalid"
        ).format(
            records=tally.records,
            trains=trains,
            target=out if out is not None else _("standard output"),
            seconds=f"{elapsed:.1f}",
            rate=f"{tally.records / elapsed if elapsed > 0 else 0.0:,.0f}",
            to_send=o["to_send"],
            na=o["not_applicable"],
            excluded=o["excluded"],
            refused=o["refused"],
            invalid=o["rejected"],
        ),
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def register(app: typer.Typer) -> None:
    app.command("sample")(sample)
