"""``ctop-node db``: the schema revision of the node's database, and upgrading it.

``serve`` and every command bring the schema to the installed revision when they open the
database; ``db upgrade`` does it on purpose, before starting a new version (docs/operations.md,
"Upgrades"), and ``db current`` says where a database stands.
"""

from __future__ import annotations

import typer

from ctop_node.cli._common import DbOpt, HomeOpt, JsonOpt, print_json
from ctop_node.config import NodeConfig
from ctop_node.i18n import N_, _
from ctop_node.store import open_store
from ctop_node.store.migrate import current_revision, head_revision, upgrade

db_app = typer.Typer(
    help=N_("Database schema: current revision and upgrade."), no_args_is_help=True
)


@db_app.command("current")
def current(home: HomeOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """The database's schema revision and the one this version of ctop-node ships.

    Exit status 1 when the database is behind.

    \b
    Examples:
      ctop-node db current --home /var/lib/ctop
      ctop-node db current --db postgresql://ctop@db/ctop --json
    """
    config = NodeConfig.load(home, db_url=db)
    with open_store(config.db_url, migrate=False, create=False) as store:
        now = current_revision(store.engine)
    head = head_revision()
    if as_json:
        print_json({"current": now, "head": head, "up_to_date": now == head})
    else:
        typer.echo(
            _("schema revision {current} (this version: {head})").format(
                current=now or "-", head=head
            )
        )
    if now != head:
        raise typer.Exit(1)


@db_app.command("upgrade")
def upgrade_cmd(home: HomeOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Bring the database's schema to this version's revision (Alembic; a no-op when it is).

    \b
    Examples:
      ctop-node db upgrade --home /var/lib/ctop
      ctop-node db upgrade --db postgresql://ctop@db/ctop --json
    """
    config = NodeConfig.load(home, db_url=db)
    with open_store(config.db_url, migrate=False) as store:
        before = current_revision(store.engine)
        upgrade(store.engine)
        after = current_revision(store.engine)
    if as_json:
        print_json({"from": before, "to": after})
    else:
        typer.echo(
            _("schema upgraded from {before} to {after}").format(before=before or "-", after=after)
        )


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
