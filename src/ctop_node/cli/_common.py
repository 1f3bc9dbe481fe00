"""Options and helpers shared by the command modules."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

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

# Progress and tables go to stderr so that --json on stdout stays clean.
err_console = Console(stderr=True)
console = Console()


def read_bytes(file: Path) -> bytes:
    """The bytes of a file the operator named; an unreadable one is a usage error."""
    try:
        return file.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror}") from exc


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
