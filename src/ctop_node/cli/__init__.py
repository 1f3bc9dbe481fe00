"""The ``ctop-node`` command. Each group of commands lives in its own module with a
``register(app)`` function; this module only assembles them."""

from __future__ import annotations

import importlib
import sys

import typer

from ctop_node.errors import CtopError, UsageError
from ctop_node.i18n import _

app = typer.Typer(
    name="ctop-node",
    help="CTOP pre-arrival information exchange node (KZ-CN Protocol of 2021).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Modules under ctop_node.cli that add commands; each defines register(app).
COMMAND_MODULES = (
    "serve",
    "tc",
    "ingest",
    "records",
    "sample",
    "demo",
    "pki",
    "peer",
    "status",
    "lock",
    "report",
    "manifest",
)

for _name in COMMAND_MODULES:
    importlib.import_module(f"ctop_node.cli.{_name}").register(app)


def main() -> None:
    try:
        app()
    except UsageError as exc:
        typer.echo(_("Error: {message}").format(message=exc), err=True)
        sys.exit(2)
    except CtopError as exc:
        typer.echo(_("Error: {message}").format(message=exc), err=True)
        sys.exit(1)
