"""Who acts on the command line, from where, and the audit chain they write to.

A command that shows, exports or acts on peer data (``policy.CLI_COMMANDS``) acts as a user
of the node: ``$CTOP_TOKEN`` (a token of ``ctop-node user token``, which proves who; it wins
over a name), else ``--user NAME`` or ``$CTOP_USER`` (an enabled user of the node's users
table). ``authorize`` resolves that user and asks ``policy.check`` as the UI and API do; a
refusal is an ``access.*`` error and an ``access.denied`` entry of the chain. The operator's
commands (``policy.OPERATOR``) name their actor for the chain only: ``--user``, else
``$CTOP_USER``, else the operating-system user. The node's signing key, when the home has
one, signs the chain's checkpoints.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from ctop_node.access.audit_chain import AuditChain
from ctop_node.access.policy import Principal, check, cli_rule
from ctop_node.access.sessions import Accounts, principal_of
from ctop_node.cli._common import Purpose
from ctop_node.config import NodeConfig, default_home
from ctop_node.crypto.interfaces import Signer
from ctop_node.crypto.keyset import node_keys
from ctop_node.crypto.node import NodePaths
from ctop_node.errors import AccessError, ConfigError
from ctop_node.i18n import N_, _
from ctop_node.store import SqlStore, open_store
from ctop_node.store.audit import AuditLog
from ctop_node.store.users import UserStore

UserOpt = Annotated[
    str | None,
    typer.Option(
        "--user",
        help=N_("Who is acting: a user of the node (default: $CTOP_USER); $CTOP_TOKEN wins."),
    ),
]
# The operator's commands (no role check): the name only goes into the entries they write.
ActorOpt = Annotated[
    str | None,
    typer.Option("--user", help=N_("Who is acting (default: $CTOP_USER, else the OS user).")),
]
TOKEN_ENV = "CTOP_TOKEN"
PurposeOpt = Annotated[
    Purpose,
    typer.Option("--purpose", help=N_("Why the data is used: it is audited.")),
]


def actor_name(user: str | None) -> str:
    return user or os.environ.get("CTOP_USER") or getpass.getuser()


def cli_origin() -> str:
    return f"cli@{socket.gethostname()}"


def node_signer(home: Path | None) -> Signer | None:
    paths = NodePaths(home or default_home())
    return node_keys(paths.home).signer if paths.sign_key.exists() else None


def audit_chain(store: SqlStore, home: Path | None) -> AuditChain:
    return AuditChain(AuditLog(store.engine), signer=node_signer(home))


KEY_MANAGEMENT = "key_management"


def audit_key_change(
    home: Path | None, user: str | None, action: str, obj: str, detail: Mapping[str, Any]
) -> None:
    """Art.6: a change of the node's keys or trust is an entry of its audit chain (the
    node's database, created if the node never ran); a home without node.json has none."""
    try:
        config = NodeConfig.load(home or default_home())
    except ConfigError:
        return
    with open_store(config.db_url) as store:
        audit_chain(store, config.home).record(
            actor_name(user),
            action,
            obj,
            purpose=KEY_MANAGEMENT,
            origin=cli_origin(),
            detail=detail,
        )


def _refuse(
    store: SqlStore,
    home: Path | None,
    command: str,
    actor: str,
    message: str,
    code: str,
    detail: Mapping[str, Any],
) -> AccessError:
    """Art.6: a refusal is an entry of the chain, like the UI's and the API's."""
    rule = cli_rule(command)
    audit_chain(store, home).record(
        actor,
        "access.denied",
        f"cli:{command}",
        purpose=rule.purpose.value if rule.purpose else "",
        origin=cli_origin(),
        detail={"code": code, **detail},
    )
    return AccessError(message, code=code)


def authorize(store: SqlStore, home: Path | None, command: str, user: str | None) -> Principal:
    """The user acting for ``command`` (``$CTOP_TOKEN``, else ``--user``/``$CTOP_USER``),
    allowed by ``policy.check`` to take its action for its purpose; else an ``access.*``
    error, audited. Call it on the open store before reading anything."""
    rule = cli_rule(command)
    assert rule.action is not None and rule.purpose is not None, command
    token = os.environ.get(TOKEN_ENV, "").strip()
    name = user or os.environ.get("CTOP_USER") or ""
    if token:
        found = Accounts(UserStore(store.engine)).bearer(token)
        if found is None:
            raise _refuse(
                store,
                home,
                command,
                name or "-",
                _("${env} is not a live token of an enabled user of this node").format(
                    env=TOKEN_ENV
                ),
                "access.bad_token",
                {"via": "token"},
            )
        principal = Principal(found.name, found.role, "cli", language=found.language)
        via = "token"
    elif not name:
        # Record content is never shown on the OS account's word alone.
        raise _refuse(
            store,
            home,
            command,
            f"os:{getpass.getuser()}",
            _(
                "{command} acts as a user of the node: give --user NAME (or $CTOP_USER), or "
                "a token of `ctop-node user token NAME` in ${env}"
            ).format(command=f"ctop-node {command}", env=TOKEN_ENV),
            "access.no_user",
            {"via": "none"},
        )
    else:
        row = UserStore(store.engine).get(name)
        if row is None or row.disabled:
            raise _refuse(
                store,
                home,
                command,
                name,
                _("{user} is not an enabled user of this node (see `ctop-node user list`)").format(
                    user=name
                ),
                "access.unknown_user",
                {"via": "name"},
            )
        principal = principal_of(row, "cli")
        via = "name"
    try:
        check(principal, rule.action, rule.purpose)
    except AccessError:
        raise _refuse(
            store,
            home,
            command,
            principal.name,
            _("{user} ({role}) may not run {command}: it needs {action} for {purpose}").format(
                user=principal.name,
                role=principal.role.value,
                command=f"ctop-node {command}",
                action=rule.action.value,
                purpose=rule.purpose.value,
            ),
            "access.denied",
            {"via": via, "role": principal.role.value, "asked": rule.action.value},
        ) from None
    return principal
