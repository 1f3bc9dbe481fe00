"""``ctop-node report``: the working-group evaluation (Art.5) from this node's database.

Aggregates only (never record content); with ``--peer-manifest``, or when the peer sent its
signed manifest for exactly these days (MANIFEST message), the reconciliation of ours with
the peer's is part of the report.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ctop_node.cli._actor import UserOpt, authorize
from ctop_node.cli._common import DbOpt, HomeOpt, JsonOpt, err_console, print_json
from ctop_node.config import NodeConfig, default_home
from ctop_node.crypto.keyset import node_keys
from ctop_node.i18n import N_, _, set_language
from ctop_node.reports.evaluation import DEFAULT_LOCK_SHARE_THRESHOLD, build_report
from ctop_node.reports.manifest import (
    add_reconciliation,
    build_manifest,
    load_manifest,
    read_manifest,
    reconcile,
    reconcile_with_received,
)
from ctop_node.store import open_store
from ctop_node.store.peer_manifests import PeerManifests


class ReportFormat(StrEnum):
    HTML = "html"
    JSON = "json"
    CSV = "csv"


class Language(StrEnum):
    EN = "en"
    RU = "ru"
    KK = "kk"
    ZH = "zh"


FromOpt = Annotated[
    datetime | None,
    typer.Option("--from", formats=["%Y-%m-%d"], help=N_("First UTC day (default: today).")),
]
ToOpt = Annotated[
    datetime | None,
    typer.Option("--to", formats=["%Y-%m-%d"], help=N_("Last UTC day (default: today).")),
]


def _day(value: datetime | None) -> date:
    return value.date() if value is not None else datetime.now(UTC).date()


def _reconciliation(
    home: Path, store: Any, party: str, start: date, end: date, peer_manifest: Path
) -> dict[str, Any]:
    keys = node_keys(home)
    trust = keys.trust
    ours = read_manifest(
        build_manifest(store, party, start, end, keys.signer, now=datetime.now(UTC)),
        trust,
    )
    return reconcile(ours, load_manifest(peer_manifest, trust))


def make_report(
    home: Path,
    start: date,
    end: date,
    *,
    db: str | None = None,
    peer_manifest: Path | None = None,
    lock_share_threshold: float | None = None,
) -> dict[str, Any]:
    """The report as data, for this command and for ``demo``."""
    config = NodeConfig.load(home, db_url=db)
    threshold = lock_share_threshold
    if threshold is None:
        threshold = float(
            config.settings.get("report_lock_share_threshold", DEFAULT_LOCK_SHARE_THRESHOLD)
        )
    with open_store(config.db_url, migrate=False, create=False) as store:
        report = build_report(store, config.party, start, end, lock_share_threshold=threshold)
        rec = None
        if peer_manifest is not None:
            rec = _reconciliation(home, store, config.party, start, end, peer_manifest)
        elif PeerManifests(store.engine).latest(start, end) is not None:
            # The peer sent its manifest for these days (MANIFEST message): reconcile with it.
            keys = node_keys(home)
            rec = reconcile_with_received(
                store, config.party, start, end, keys.signer, keys.trust, now=datetime.now(UTC)
            )
        if rec is not None:
            add_reconciliation(report, rec)
    return report


def report(
    out: Annotated[Path, typer.Option("--out", help=N_("Directory the report files go to."))],
    home: HomeOpt = None,
    db: DbOpt = None,
    start: FromOpt = None,
    end: ToOpt = None,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", help=N_("html (one offline file), json or csv."))
    ] = ReportFormat.HTML,
    peer_manifest: Annotated[
        Path | None,
        typer.Option(
            "--peer-manifest", help=N_("The peer's signed manifest: reconcile with ours.")
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--lock-share-threshold",
            min=0.0,
            max=1.0,
            help=N_(
                "Share of records sent by lock for an online outage that needs attention "
                "(default: node.json report_lock_share_threshold, else 0.05)."
            ),
        ),
    ] = None,
    lang: Annotated[
        Language | None, typer.Option("--lang", help=N_("Language of the HTML report."))
    ] = None,
    user: UserOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the evaluation report of this node for a period.

    \b
    Examples:
      ctop-node report --from 2026-11-01 --to 2026-11-30 --format html --out report-2026-11
      ctop-node report --home kz --from 2026-11-01 --to 2026-11-30 --format json \\
          --peer-manifest cn.manifest --out report --json
    """
    if lang is not None:
        set_language(lang.value)
    first, last = _day(start), _day(end)
    config = NodeConfig.load(home or default_home(), db_url=db)
    with open_store(config.db_url, migrate=False, create=False) as store:
        authorize(store, config.home, "report", user)
    data = make_report(
        home or default_home(),
        first,
        last,
        db=db,
        peer_manifest=peer_manifest,
        lock_share_threshold=threshold,
    )
    # matplotlib loads only when a report is written, not with every ctop-node command
    from ctop_node.reports.render import write_report

    written = write_report(data, out, fmt.value)
    if as_json:
        print_json({"files": [str(p) for p in written], "totals": data["totals"]})
    else:
        for path in written:
            typer.echo(str(path))
        err_console.print(
            _("Report of {party} for {start} to {end}: {sent} sent, {received} received").format(
                party=data["party"],
                start=first.isoformat(),
                end=last.isoformat(),
                sent=data["totals"]["sent"],
                received=data["totals"]["received"],
            ),
            highlight=False,
        )
    if data.get("reconciliation", {}).get("differences"):
        raise typer.Exit(3)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
