"""``ctop-node demo``: the product's main job on a laptop, with nothing but SQLite."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import orjson
import typer

from ctop_node.cli._common import JsonOpt, err_console, print_json
from ctop_node.cli.ingest import ingest_file, summary_line
from ctop_node.config import sqlite_url
from ctop_node.i18n import _
from ctop_node.ingest.pipeline import Classifier, IngestPipeline, IngestSummary
from ctop_node.rules import NodePolicy
from ctop_node.sample import generate
from ctop_node.store import open_store


def _ingest_party(base: Path, party: str, trains: int, seed: int, quiet: bool) -> IngestSummary:
    home = base / party.lower()
    home.mkdir(parents=True)
    sample = home / "clearance-export.ndjson"
    with sample.open("wb") as fh:
        for record in generate(trains, seed, party=party):
            fh.write(orjson.dumps(record) + b"\n")
    store = open_store(sqlite_url(home))
    try:
        pipeline = IngestPipeline(store, Classifier(NodePolicy(party)))
        return ingest_file(pipeline, sample, "ndjson", show_progress=not quiet)
    finally:
        store.close()


def demo(
    home: Annotated[Path, typer.Option("--home", help="Where the demo nodes live.")] = Path(
        "demo-data"
    ),
    trains: Annotated[int, typer.Option(help="Trains per Party.")] = 2,
    seed: Annotated[int, typer.Option(help="Seed of the sample data.")] = 2021,
    as_json: JsonOpt = False,
) -> None:
    """Generate a realistic train's clearance records for KZ and CN and ingest them."""
    if home.exists():
        shutil.rmtree(home)
    results = {}
    for party in ("KZ", "CN"):
        if not as_json:
            err_console.rule(_("Node {party}").format(party=party))
        summary = _ingest_party(home, party, trains, seed, as_json)
        results[party] = summary
        if not as_json:
            typer.echo(f"{party}: {summary_line(summary)}")
    if as_json:
        print_json({p: s.as_dict() for p, s in results.items()})


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
