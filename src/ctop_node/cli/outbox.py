"""``ctop-node outbox``: the operator's hand on the outbox (dead entries back to pending)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from ctop_node.cli._common import DbOpt, HomeOpt, JsonOpt, print_json
from ctop_node.config import NodeConfig
from ctop_node.i18n import N_, _
from ctop_node.store import open_store
from ctop_node.store.operations import OperationsQueries

outbox_app = typer.Typer(
    help=N_("Outbox repairs: requeue entries that were given up."), no_args_is_help=True
)


@outbox_app.command("requeue")
def requeue(
    home: HomeOpt = None,
    db: DbOpt = None,
    peer: Annotated[
        str | None, typer.Option("--peer", help=N_("Only the entries for this Party, e.g. CN."))
    ] = None,
    ids: Annotated[
        list[int] | None, typer.Option("--id", help=N_("Only this outbox entry (repeatable)."))
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Put dead outbox entries back to pending, due now.

    Dead entries were given up after the last retry, or refused for a reason since fixed (a
    trust bundle, say). A running node sends them with their first message id, so the peer
    stores each once.

    \b
    Examples:
      ctop-node outbox requeue --home /var/lib/ctop
      ctop-node outbox requeue --peer CN --home /var/lib/ctop --json
      ctop-node outbox requeue --id 17 --id 18 --home /var/lib/ctop
    """
    config = NodeConfig.load(home, db_url=db)
    with open_store(config.db_url, create=False) as store:
        done = OperationsQueries(store.engine).requeue_dead(
            datetime.now(UTC), peer=peer.upper() if peer else None, ids=ids or ()
        )
    if as_json:
        print_json({"requeued": done})
        return
    typer.echo(_("{n} dead outbox entries requeued").format(n=len(done)))


def register(app: typer.Typer) -> None:
    app.add_typer(outbox_app, name="outbox")
