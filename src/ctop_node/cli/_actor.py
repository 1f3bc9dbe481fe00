"""Who acts on the command line, from where, and the audit chain they write to.

Until users and logins exist (issue 10), the actor is a name: ``--user``, else
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
from ctop_node.cli._common import Purpose
from ctop_node.config import NodeConfig, default_home
from ctop_node.crypto.interfaces import Signer
from ctop_node.crypto.keyset import node_keys
from ctop_node.crypto.node import NodePaths
from ctop_node.errors import ConfigError
from ctop_node.store import SqlStore, open_store
from ctop_node.store.audit import AuditLog

UserOpt = Annotated[
    str | None,
    typer.Option("--user", help="Who is acting (default: $CTOP_USER, else the OS user)."),
]
PurposeOpt = Annotated[
    Purpose,
    typer.Option("--purpose", help="Why the data is used: it is audited."),
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
