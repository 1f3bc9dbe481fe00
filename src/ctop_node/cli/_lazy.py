"""Commands known by name and help line, imported only when run.

``ctop-node --help`` used to import every command module and with them SQLAlchemy, FastAPI,
uvicorn and cryptography (1.5 s and more). The root group lists the commands of ``LAZY`` from
this table and imports a command's module only when that command is resolved (run, or asked
for its own ``--help``). A test keeps each help line equal to the real command's.

Help texts stay English in the code and are translated when shown: the root's listing, and
the command tree a command resolves to, pass each paragraph of a help text through gettext
(``N_`` marks the ones written here for extraction).
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from ctop_node import i18n
from ctop_node.i18n import N_

# Help texts of the root and of click's own options, for the catalogues.
ROOT_HELP = N_("CTOP pre-arrival information exchange node (KZ-CN Protocol of 2021).")
VERSION_HELP = N_("Print the version and exit.")
_CLICK_HELP = N_("Show this message and exit.")


def _tr(text: str | None) -> str | None:
    """Each paragraph of a help text in the current language (as written when no
    translation exists)."""
    if not text:
        return text
    out = []
    for para in text.split("\n\n"):
        msgid = " ".join(para.split())
        said = i18n._(msgid)
        out.append(said if said != msgid else para)
    return "\n\n".join(out)


def _in_language(obj: Any, fields: tuple[str, ...], lang: str) -> None:
    """Set ``obj``'s help fields to ``lang`` from the English kept on it the first time."""
    english = obj.__dict__.setdefault("_ctop_help_en", {f: getattr(obj, f) for f in fields})
    for f in fields:
        text = english[f]
        setattr(obj, f, text if lang == "en" or not isinstance(text, str) else _tr(text))


def translate_help(cmd: Any, *, depth: int = 99) -> None:
    """Put the help of ``cmd``, of its options and of the commands under it (``depth``
    levels) in the current language; back to English when that is the language (tests run
    several languages in one process). Typer vendors its own click: commands and options are
    recognised by what they have, not by class."""
    lang = i18n.language()
    if getattr(cmd, "_ctop_help_language", "en") == lang:
        return
    _in_language(cmd, ("help", "short_help"), lang)
    for param in cmd.params:
        if hasattr(param, "help"):
            _in_language(param, ("help",), lang)
    if "get_help_option" not in cmd.__dict__:  # click makes --help when asked: translate it
        make = cmd.get_help_option

        def get_help_option(ctx: Any) -> Any:
            option = make(ctx)
            if option is not None:
                _in_language(option, ("help",), i18n.language())
            return option

        cmd.get_help_option = get_help_option
    if depth > 0:
        for sub in (getattr(cmd, "commands", None) or {}).values():
            translate_help(sub, depth=depth - 1)
    cmd._ctop_help_language = lang


# module under ctop_node.cli -> {command: its help line}; the module's register(app) adds them.
LAZY: dict[str, dict[str, str]] = {
    "serve": {
        "serve": N_(
            "Run the node: the peer endpoint (mutual TLS), the internal API and the sender."
        )
    },
    "tc": {"tc": N_("Technical conditions: schemas and validation.")},
    "ingest": {
        "ingest": N_(
            "Read export-clearance records, check them, apply the Protocol's rules and store them."
        ),
        "watch": N_(
            "Watch a folder: ingest each file, then move it to done/ or failed/ (see "
            "docs/security.md)."
        ),
    },
    "records": {"records": N_("Stored records and their versions.")},
    "sample": {
        "sample": N_(
            "Write realistic, deterministic sample records: trains of containers over "
            "the KZ-CN border."
        )
    },
    "demo": {
        "demo": N_("Start a KZ and a CN node on loopback and exchange sample trains between them.")
    },
    "pki": {
        "init": N_(
            "Create a node home: node.json, keys (0600) and certificates from the Party CA."
        ),
        "pki": N_("Party CA, certificates and trust bundles."),
    },
    "peer": {"peer": N_("Peer nodes: endpoints of the other Parties.")},
    "status": {
        "status": N_(
            "Outbox depth and age, last delivery, peer circuits, recent rejections and "
            "the days left of every CRL, certificate and CA (warnings at 30, 7 and 1 days)."
        )
    },
    "lock": {"lock": N_("Smart-lock channel: provision, write, events, read.")},
    "outbox": {"outbox": N_("Outbox repairs: requeue entries that were given up.")},
    "db": {"db": N_("Database schema: current revision and upgrade.")},
    "backup": {
        "backup": N_(
            "Back up the node (home, keys, database) into one file encrypted with a passphrase."
        ),
        "restore": N_(
            "Restore a backup into a new home; the database goes to --db, else SQLite in that home."
        ),
    },
    "user": {"user": N_("Users of the officers' UI and of the read API.")},
    "cancel": {"cancel": N_("Cancel one of our records at every peer Party.")},
    "audit": {"audit": N_("The tamper-evident audit chain (Art.6).")},
    "consent": {"consent": N_("Consents of peer Parties to other uses (Art.6).")},
    "evidence": {"evidence": N_("Evidence bundles of records, verifiable offline.")},
    "purge": {
        "purge": N_("Remove the bodies of peer records older than the retention period (audited).")
    },
    "atrest": {"at-rest": N_("Encryption at rest of record content: key file and rotation.")},
    "conformance": {
        "conformance": N_(
            "Conformance kit and partner simulator for a foreign peer implementation."
        )
    },
    "report": {"report": N_("Write the evaluation report of this node for a period.")},
    "manifest": {
        "manifest": N_("Write this node's signed manifest (COSE_Sign1) for a period."),
        "reconcile": N_(
            "Check both manifests' signatures and list the differences; exit 3 when there are any."
        ),
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
        found = super().resolve_command(ctx, args)
        if found[1] is not None:
            translate_help(found[1])
        return found

    def format_help(self, ctx: Any, formatter: Any) -> None:
        translate_help(self, depth=1)  # the root and the listed command lines
        super().format_help(ctx, formatter)

    def _load(self, module: str) -> None:
        sub = typer.Typer()
        importlib.import_module(f"ctop_node.cli.{module}").register(sub)
        group = typer.main.get_group(sub)
        for name, cmd in group.commands.items():
            self.commands[name] = cmd
