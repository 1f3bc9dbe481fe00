"""Options and helpers shared by the command modules."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
import typer
from rich.console import Console
from rich.markup import escape

from ctop_node.errors import UsageError
from ctop_node.i18n import N_

HomeOpt = Annotated[
    Path | None,
    typer.Option("--home", help=N_("Node home directory (default: $CTOP_HOME or ./.ctop).")),
]
DbOpt = Annotated[
    str | None,
    typer.Option("--db", help=N_("Database URL (default: SQLite in the node home).")),
]
PartyOpt = Annotated[
    str | None,
    typer.Option("--party", help=N_("This node's Party (ISO 3166 code, e.g. KZ).")),
]
JsonOpt = Annotated[bool, typer.Option("--json", help=N_("Machine-readable JSON output."))]

# Enumerated values as checked choices: a wrong one is a usage error naming the choices
# (tests/unit/cli/test_cli_tree.py checks that they match the lists the code uses).
FileFormat = Literal["ndjson", "json", "xml", "csv"]  # ingest.formats READERS
FormatOpt = Annotated[
    FileFormat | None,
    typer.Option("--format", help=N_("Format of the files (default: by their extension).")),
]
Outcome = Literal["to_send", "not_applicable", "excluded", "refused", "rejected"]  # OutcomeKind
Purpose = Literal["customs_control", "court", "administrative", "third_party"]  # PURPOSES
ConsentPurpose = Literal["court", "administrative", "third_party"]  # CONSENT_PURPOSES
UserRole = Literal[
    "arrival_officer", "departure_officer", "supervisor", "analyst", "auditor", "admin"
]  # access.policy.USER_ROLES
TokenScope = Literal["read", "control"]  # access.policy.TOKEN_SCOPES

# Progress and tables go to stderr so that --json on stdout stays clean.
err_console = Console(stderr=True)
console = Console()


def read_bytes(file: Path) -> bytes:
    """The bytes of a file the operator named; an unreadable one is a usage error."""
    try:
        return file.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror}", code="usage.file") from exc


def print_json(data: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(data, option=orjson.OPT_INDENT_2, default=str) + b"\n")
    sys.stdout.flush()


def print_error_line(e: dict[str, Any]) -> None:
    """One error on stderr: where, which record, which field, code and message."""
    err_console.print(
        f"[red]{escape(str(e.get('source', '')))} {escape(str(e.get('position', '')))}[/] "
        f"{escape(str(e.get('record_id') or '-'))} {escape(str(e['field']))} "
        f"[bold]{escape(str(e['code']))}[/]: {escape(str(e['message']))}",
        highlight=False,
    )


def report_done(as_json: bool, doc: dict[str, Any], *lines: str) -> None:
    """What an action did: with --json the object ``doc`` on stdout, else its lines."""
    if as_json:
        print_json(doc)
        return
    for line in lines:
        typer.echo(line)
