"""Commands known by name and help line, imported only when run.

``ctop-node --help`` used to import every command module and with them SQLAlchemy, FastAPI,
uvicorn and cryptography (1.5 s and more). The root group lists the commands of ``LAZY`` from
this table and imports a command's module only when that command is resolved (run, or asked
for its own ``--help``). A test keeps each help line equal to the real command's.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

# module under ctop_node.cli -> {command: its help line}; the module's register(app) adds them.
LAZY: dict[str, dict[str, str]] = {
    "serve": {
        "serve": "Run the node: the peer endpoint (mutual TLS), the internal API and the sender."
    },
    "tc": {"tc": "Technical conditions: schemas and validation."},
    "ingest": {
        "ingest": "Read export-clearance records, check them, apply the Protocol's rules and "
        "store them.",
        "watch": "Watch a folder: ingest each file, then move it to done/ or failed/ (see "
        "docs/security.md).",
    },
    "records": {"records": "Stored records and their versions."},
    "sample": {
        "sample": "Write realistic, deterministic sample records: trains of containers over "
        "the KZ-CN border."
    },
    "demo": {
        "demo": "Start a KZ and a CN node on loopback and exchange sample trains between them."
    },
    "pki": {
        "init": "Create a node home: node.json, keys (0600) and certificates from the Party CA.",
        "pki": "Party CA, certificates and trust bundles.",
    },
    "peer": {"peer": "Peer nodes: endpoints of the other Parties."},
    "status": {
        "status": "Outbox depth and age, last delivery, peer circuits, recent rejections and "
        "the days left of every CRL, certificate and CA (warnings at 30, 7 and 1 days)."
    },
    "lock": {"lock": "Smart-lock channel: provision, write, events, read."},
    "outbox": {"outbox": "Outbox repairs: requeue entries that were given up."},
    "db": {"db": "Database schema: current revision and upgrade."},
    "backup": {
        "backup": "Back up the node (home, keys, database) into one file encrypted with a "
        "passphrase.",
        "restore": "Restore a backup into a new home; the database goes to --db, else SQLite "
        "in that home.",
    },
    "user": {"user": "Users of the officers' UI and of the read API."},
    "cancel": {"cancel": "Cancel one of our records at every peer Party."},
    "audit": {"audit": "The tamper-evident audit chain (Art.6)."},
    "consent": {"consent": "Consents of peer Parties to other uses (Art.6)."},
    "evidence": {"evidence": "Evidence bundles of records, verifiable offline."},
    "purge": {
        "purge": "Remove the bodies of peer records older than the retention period (audited)."
    },
    "atrest": {"at-rest": "Encryption at rest of record content: key file and rotation."},
    "conformance": {
        "conformance": "Conformance kit and partner simulator for a foreign peer implementation."
    },
    "report": {"report": "Write the evaluation report of this node for a period."},
    "manifest": {
        "manifest": "Write this node's signed manifest (COSE_Sign1) for a period.",
        "reconcile": "Check both manifests' signatures and list the differences; exit 3 when "
        "there are any.",
    },
}


class _Listed(TyperCommand):
    """What the root's help shows of a command not imported yet."""


class LazyGroup(TyperGroup):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._modules = {name: module for module, cmds in LAZY.items() for name in cmds}
        for cmds in LAZY.values():
            for name, help_line in cmds.items():
                self.commands.setdefault(name, _Listed(name=name, help=help_line))

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # in registration order, not sorted

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name = args[0] if args else None
        if name in self._modules and isinstance(self.commands.get(name), _Listed):
            self._load(self._modules[name])
        return super().resolve_command(ctx, args)

    def _load(self, module: str) -> None:
        sub = typer.Typer()
        importlib.import_module(f"ctop_node.cli.{module}").register(sub)
        group = typer.main.get_group(sub)
        for name, cmd in group.commands.items():
            self.commands[name] = cmd
