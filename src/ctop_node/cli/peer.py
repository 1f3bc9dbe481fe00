"""``ctop-node peer``: where the peer Parties' nodes listen (the ``peers`` of node.json)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ctop_node.cli._common import HomeOpt, JsonOpt, console, print_json
from ctop_node.config import default_home
from ctop_node.i18n import N_, _
from ctop_node.online.peers import PeerConfig, add_peer, remove_peer

peer_app = typer.Typer(help=N_("Peer nodes: endpoints of the other Parties."), no_args_is_help=True)


@peer_app.command("add")
def add(
    party: Annotated[str, typer.Argument(help=N_("The peer's Party, e.g. CN."))],
    url: Annotated[str, typer.Option("--url", help=N_("The peer endpoint, https://host:port."))],
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add or replace a peer's endpoint. Its trust bundle comes from `pki import-trust`.

    \b
    Examples:
      ctop-node peer add CN --url https://ctop.customs.example.cn:8443 --home /var/lib/ctop
    """
    home = home or default_home()
    endpoint = add_peer(home, party, url)
    if as_json:
        trust = endpoint.ca_file.is_file()
        print_json({"party": party.upper(), "url": endpoint.url, "trust": trust})
        return
    typer.echo(_("Peer {party} at {url}").format(party=party.upper(), url=endpoint.url))
    if not endpoint.ca_file.is_file():
        typer.echo(
            _("Note: no trust bundle of {party} imported yet (ctop-node pki import-trust)").format(
                party=party.upper()
            )
        )


@peer_app.command("list")
def list_peers(home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """The configured peers and whether their trust bundle is imported.

    \b
    Examples:
      ctop-node peer list --home /var/lib/ctop
      ctop-node peer list --home /var/lib/ctop --json
    """
    config = PeerConfig.load(home or default_home(), require_trust=False)
    rows = [
        {"party": p, "url": e.url, "trust": e.ca_file.is_file()}
        for p, e in config.endpoints.items()
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(title=_("Peers"))
    for header in (_("Peer"), _("URL"), _("Trust imported")):
        table.add_column(header)
    for r in rows:
        table.add_row(str(r["party"]), str(r["url"]), _("yes") if r["trust"] else _("no"))
    console.print(table)


@peer_app.command("remove")
def remove(
    party: Annotated[str, typer.Argument(help=N_("The peer's Party, e.g. CN."))],
    home: HomeOpt = None,
    forget_trust: Annotated[
        bool,
        typer.Option(
            "--forget-trust",
            help=N_(
                "Also delete its imported trust bundle: its messages are refused from then on."
            ),
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Stop sending to a peer: take it out of node.json.

    Entries queued for it stay in the outbox (sent again once it is added back).

    \b
    Examples:
      ctop-node peer remove CN --home /var/lib/ctop
      ctop-node peer remove CN --forget-trust --home /var/lib/ctop --json
    """
    code = party.upper()
    found = remove_peer(home or default_home(), code, forget_trust=forget_trust)
    if as_json:
        print_json({"party": code, "removed": found, "trust_forgotten": forget_trust})
        return
    if found:
        typer.echo(_("Peer {party} removed from node.json").format(party=code))
    else:
        typer.echo(_("{party} was not a peer of this node").format(party=code))


def register(app: typer.Typer) -> None:
    app.add_typer(peer_app, name="peer")
