"""``ctop-node at-rest``: the key that encrypts record content in the database (bodies of
records, raw and decrypted messages, lock images), held outside it in a 0600 file named by
``CTOP_AT_REST_KEY_FILE``. Stop the node before ``rotate``: a running node keeps the key
ring it started with."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ctop_node.access._files import write_new_private
from ctop_node.cli._actor import ActorOpt, actor_name, audit_chain, cli_origin
from ctop_node.cli._common import DbOpt, HomeOpt, JsonOpt, console, print_json
from ctop_node.cli.records import open_existing
from ctop_node.config import NodeConfig, at_rest_key_file
from ctop_node.errors import ConfigError, UsageError
from ctop_node.i18n import N_, _
from ctop_node.store.at_rest import KEY_ENV, Keyring, reseal, seal_counts

at_rest_app = typer.Typer(
    help=N_("Encryption at rest of record content: key file and rotation."), no_args_is_help=True
)


def _key_file(home: Path | None) -> Path:
    path = os.environ.get(KEY_ENV)
    if not path:
        try:  # the key ``init`` made, or node.json's at_rest_key_file
            config = NodeConfig.load(home)
        except ConfigError:
            config = None
        found = at_rest_key_file(config.home, config.node.at_rest_key_file) if config else None
        if found is not None:
            return found
        raise UsageError(
            _("set {env} to the node's at-rest key file (make one with `at-rest keygen`)").format(
                env=KEY_ENV
            )
        )
    return Path(path)


@at_rest_app.command("keygen")
def keygen(
    out: Annotated[
        Path,
        typer.Option("--out", help=N_("Key file to create (0600), e.g. HOME/keys/at-rest.json.")),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Create a new at-rest key file; point CTOP_AT_REST_KEY_FILE at it before the node starts.

    \b
    Examples:
      ctop-node at-rest keygen --out /etc/ctop/at-rest.key
    """
    ring = Keyring.generate()
    tmp = out.with_name(out.name + ".new")
    ring.save(tmp)
    write_new_private(out, tmp.read_bytes())
    tmp.unlink()
    if as_json:
        print_json({"kid": ring.current, "path": str(out)})
        return
    console.print(
        _("at-rest key {kid} written to {path}").format(kid=ring.current, path=out), highlight=False
    )


@at_rest_app.command("status")
def status(home: HomeOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """How many values of each column are sealed under which key (``plain``: not sealed).

    \b
    Examples:
      ctop-node at-rest status --home /var/lib/ctop
      ctop-node at-rest status --home /var/lib/ctop --json
    """
    with open_existing(home, db) as store:
        counts = seal_counts(store.engine).by_column
    if as_json:
        print_json(counts)
        return
    for column, by_kid in counts.items():
        line = ", ".join(f"{k}: {n}" for k, n in sorted(by_kid.items())) or "-"
        console.print(f"{column}: {line}", highlight=False)


@at_rest_app.command("rotate")
def rotate(
    user: ActorOpt = None, home: HomeOpt = None, db: DbOpt = None, as_json: JsonOpt = False
) -> None:
    """Make a new current key, re-seal every value under it, then drop the old keys.

    \b
    Examples:
      ctop-node at-rest rotate --home /var/lib/ctop
      ctop-node at-rest rotate --home /var/lib/ctop --json
    """
    path = _key_file(home)
    ring = Keyring.load(path).rotated()
    ring.save(path)  # old and new keys: whatever happens next, everything stays readable
    with open_existing(home, db) as store:
        rewritten = reseal(store.engine)
        ring.only_current().save(path)
        audit_chain(store, home).record(
            actor_name(user),
            "at_rest.rotate",
            "key:at-rest",
            purpose="key_management",
            origin=cli_origin(),
            detail={"kid": ring.current, "resealed": rewritten},
        )
    if as_json:
        print_json({"kid": ring.current, "resealed": rewritten})
        return
    console.print(
        _("at-rest key rotated to {kid}: {count} values re-sealed").format(
            kid=ring.current, count=rewritten
        ),
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(at_rest_app, name="at-rest")
