"""``ctop-node status``: the online channel at a glance (outbox, peers, rejections)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from ctop_node.cli._common import DbOpt, HomeOpt, JsonOpt, console, print_json
from ctop_node.cli.records import _open
from ctop_node.config import NodeConfig, default_home
from ctop_node.errors import ConfigError
from ctop_node.i18n import _
from ctop_node.online.peers import PeerConfig
from ctop_node.online.status import node_status

_CIRCUIT_STYLE = {"closed": "green", "half_open": "yellow", "open": "red"}


def _configured(home: Path) -> tuple[str, list[str]]:
    """This node's Party and its configured peers ("?" and none without node.json)."""
    try:
        party = NodeConfig.load(home).party
    except ConfigError:
        return "?", []
    try:
        return party, PeerConfig.load(home, require_trust=False).parties
    except ConfigError:
        return party, []


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _when(iso: str | None) -> str:
    return "-" if iso is None else datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S")


def _show(data: dict[str, Any]) -> None:
    peers = Table(title=_("Peers of {party}").format(party=data["party"]))
    for header in (_("Peer"), _("Circuit"), _("Failures"), _("Outbox"), _("Oldest")):
        peers.add_column(header, no_wrap=True)
    peers.add_column(_("Last delivery (UTC)"), no_wrap=True)
    for header in (_("Delivered"), _("Rejected"), _("Dead")):
        peers.add_column(header, justify="right")
    peers.add_column(_("Last error"), overflow="fold")
    for name, p in data["peers"].items():
        style = _CIRCUIT_STYLE.get(p["circuit"], "")
        peers.add_row(
            name,
            f"[{style}]{p['circuit']}[/]",
            str(p["consecutive_failures"]),
            str(p["outbox_depth"]),
            _age(p["oldest_pending_age_s"]),
            _when(p["last_delivery"]),
            str(p["delivered"]),
            str(p["rejected"]),
            str(p["dead"]),
            escape(p["last_error"] or ""),
        )
    console.print(peers)
    if data["rejections"]:
        rej = Table(title=_("Rejected and dead messages (latest first)"))
        for header in (_("Record"), _("Version"), _("Peer"), _("State"), _("Code")):
            rej.add_column(header, overflow="fold")
        rej.add_column(_("Message"), overflow="fold")
        rej.add_column(_("At (UTC)"), no_wrap=True)
        for r in data["rejections"]:
            rej.add_row(
                escape(r["record_id"]),
                str(r["version"]),
                r["peer"],
                r["state"],
                escape(r["code"] or ""),
                escape(r["message"] or ""),
                _when(r["at"]),
            )
        console.print(rej)
    t = data["totals"]
    console.print(
        _(
            "Outbox: {pending} pending, {delivered} delivered, {rejected} rejected, {dead} dead"
        ).format(**t),
        highlight=False,
    )
    if t.get("withdrawn"):
        console.print(
            _("Withdrawn before delivery (never sent): {withdrawn}").format(
                withdrawn=t["withdrawn"]
            ),
            highlight=False,
        )


def status(home: HomeOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Outbox depth and age, last delivery, peer circuits and recent rejections."""
    home = home or default_home()
    party, peers = _configured(home)
    with _open(home, db) as store:
        data = node_status(store, party, datetime.now(UTC), peers=peers)
    if as_json:
        print_json(data)
    else:
        _show(data)


def register(app: typer.Typer) -> None:
    app.command("status")(status)
