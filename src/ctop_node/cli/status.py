"""``ctop-node status``: the online channel at a glance (outbox, peers, rejections) and how
long the trust material lasts (CRLs, certificates, CAs: ``crypto.expiry``).

``status --check`` is for monitoring: exit 0 when all is well, 1 with one line naming the
most urgent item when a CRL, certificate or CA is near expiry or expired."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ctop_node.cli._common import DbOpt, HomeOpt, JsonOpt, console, print_json
from ctop_node.cli.records import _open
from ctop_node.config import NodeConfig, default_home
from ctop_node.crypto.expiry import Expiry, first_problem, home_expiry
from ctop_node.errors import ConfigError, CryptoError
from ctop_node.i18n import N_, _
from ctop_node.online.peers import PeerConfig
from ctop_node.online.status import node_status
from ctop_node.online.trust_push import push_state

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


_LEVEL_STYLE = {
    "ok": "green",
    "notice": "yellow",
    "warning": "bold yellow",
    "critical": "bold red",
    "expired": "bold red",
}


def _pki(home: Path, party: str, now: datetime) -> tuple[list[Expiry], str | None]:
    """The expiry items, or none and why they cannot be read (a failed check)."""
    try:
        return home_expiry(home, party, now), None
    except CryptoError as exc:
        return [], _("Trust material unreadable: {error}").format(error=exc)


def _show_pki(items: list[Expiry]) -> None:
    table = Table(title=_("Certificates and CRLs"))
    for header in (
        _("Owner Party"),
        _("Certificate or CRL"),
        _("Key id or CRL number"),
        _("Not valid after (UTC)"),
    ):
        table.add_column(header, no_wrap=True)
    table.add_column(_("Days of validity left"), justify="right")
    table.add_column(_("Expiry level"), no_wrap=True)
    for e in items:
        style = _LEVEL_STYLE.get(e.level, "")
        table.add_row(
            e.party,
            e.item,
            e.ident,
            e.not_after.strftime("%Y-%m-%d %H:%M"),
            f"{e.days_left:.1f}",
            f"[{style}]{e.level}[/]",
        )
    console.print(table)


def _trust_line(peer: str, pushed: dict[str, Any]) -> str:
    if not pushed:
        return escape(_("Trust update to {peer}: not sent yet").format(peer=peer))
    if pushed.get("ok"):
        return escape(
            _("Trust update to {peer}: delivered at {when}").format(
                peer=peer, when=_when(pushed.get("at"))
            )
        )
    return (
        "[red]"
        + escape(
            _("Trust update to {peer}: failed at {when}: {error}").format(
                peer=peer, when=_when(pushed.get("at")), error=pushed.get("error") or "?"
            )
        )
        + "[/]"
    )


def _reason(e: Expiry) -> str:
    what = f"{e.party} {e.item} {e.ident}"
    if e.days_left <= 0:
        return _("{what} expired on {when}").format(what=what, when=e.not_after.isoformat())
    return _("{what} expires in {days} days ({when})").format(
        what=what, days=f"{e.days_left:.1f}", when=e.not_after.isoformat()
    )


def status(
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help=N_(
                "Monitoring: exit 1 with a one-line reason when a CRL, certificate or CA "
                "is near expiry or expired."
            ),
        ),
    ] = False,
) -> None:
    """Outbox depth and age, last delivery, peer circuits, recent rejections and the days
    left of every CRL, certificate and CA (warnings at 30, 7 and 1 days).

    \b
    Examples:
      ctop-node status --home /var/lib/ctop
      ctop-node status --home /var/lib/ctop --check
      ctop-node status --home /var/lib/ctop --json
    """
    home = home or default_home()
    party, peers = _configured(home)
    now = datetime.now(UTC)
    items, unreadable = _pki(home, party, now)
    problem = first_problem(items)
    reason = unreadable or (None if problem is None else _reason(problem))
    if check:
        if as_json:
            print_json(
                {"ok": reason is None, "reason": reason, "pki": [e.as_dict() for e in items]}
            )
        elif reason is None:
            typer.echo(_("OK: no CRL, certificate or CA expires within its warning period"))
        else:
            typer.echo(_("PROBLEM: {reason}").format(reason=reason))
        if reason is not None:
            raise typer.Exit(1)
        return
    with _open(home, db) as store:
        data = node_status(store, party, now, peers=peers)
    data["pki"] = [e.as_dict() for e in items]
    data["trust_updates"] = {peer: push_state(home, peer) for peer in peers}
    if as_json:
        print_json(data)
    else:
        _show(data)
        _show_pki(items)
        for peer, pushed in data["trust_updates"].items():
            console.print(_trust_line(peer, pushed), highlight=False)
        if reason is not None:
            console.print(f"[bold red]{escape(reason)}[/]", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("status")(status)
