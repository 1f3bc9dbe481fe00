"""``ctop-node purge``: remove peer record bodies older than the retention period (Art.6),
keeping the audit chain, digests and counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated

import typer

from ctop_node.cli._actor import UserOpt, audit_chain, authorize, cli_origin
from ctop_node.cli._common import DbOpt, HomeOpt, JsonOpt, console, print_json
from ctop_node.cli.records import open_existing
from ctop_node.config import NodeConfig
from ctop_node.errors import ConfigError, UsageError
from ctop_node.i18n import N_, _
from ctop_node.store.retention import Retention


def _cutoff(before: str | None, home: Path | None, now: datetime) -> datetime:
    if before:
        try:
            return datetime.combine(date.fromisoformat(before), time.min, tzinfo=UTC)
        except ValueError as exc:
            raise UsageError(
                _("--before {value} is not a date (YYYY-MM-DD)").format(value=before)
            ) from exc
    try:
        days = NodeConfig.load(home).settings.get("retention_days")
    except ConfigError:
        days = None
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise UsageError(
            _("give --before DATE, or set retention_days (a whole number of days) in node.json")
        )
    return now - timedelta(days=days)


def purge(
    before: Annotated[
        str | None,
        typer.Option(
            "--before", help=N_("Purge peer records stored before this day (YYYY-MM-DD).")
        ),
    ] = None,
    user: UserOpt = None,
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove the bodies of peer records older than the retention period (audited).

    \b
    Examples:
      ctop-node purge --home /var/lib/ctop
      ctop-node purge --before 2025-11-28 --home /var/lib/ctop --json
    """
    now = datetime.now(UTC)
    cutoff = _cutoff(before, home, now)
    with open_existing(home, db) as store:
        who = authorize(store, home, "purge", user)
        purged = Retention(store.engine).purge_peer_bodies(cutoff, at=now)
        entry = audit_chain(store, home).record(
            who.name,
            "records.purge",
            "records",
            purpose="retention",
            origin=cli_origin(),
            detail={
                "before": cutoff.isoformat(),
                "purged": len(purged),
                "versions": [f"{p}/{r}/v{v}" for p, r, v in purged],
            },
        )
    if as_json:
        print_json({"before": cutoff.isoformat(), "purged": len(purged), "audit_seq": entry.seq})
        return
    console.print(
        _("{count} peer record versions stored before {before} purged").format(
            count=len(purged), before=cutoff.date().isoformat()
        ),
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("purge")(purge)
