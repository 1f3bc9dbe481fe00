"""The ``ctop-node`` command. Each group of commands lives in its own module with a
``register(app)`` function; this module only assembles them. Modules listed in
``_lazy.LAZY`` are imported only when one of their commands runs (a fast ``--help``)."""

from __future__ import annotations

import importlib
import sys

import typer

from ctop_node.cli._lazy import LAZY, ROOT_HELP, VERSION_HELP, LazyGroup
from ctop_node.files import private_umask

app = typer.Typer(
    name="ctop-node",
    help=ROOT_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=LazyGroup,
    # Plain help: rich's help renderer alone imports markdown-it and costs ~0.2 s a call.
    rich_markup_mode=None,
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
    "outbox",
    "db",
    "backup",
    "lock",
    "user",
    "cancel",
    "audit",
    "consent",
    "evidence",
    "purge",
    "atrest",
    "conformance",
    "report",
    "manifest",
)

for _name in COMMAND_MODULES:
    if _name not in LAZY:
        importlib.import_module(f"ctop_node.cli.{_name}").register(app)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"ctop-node {version('ctop-node')}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_version, help=VERSION_HELP
    ),
) -> None:
    """CTOP pre-arrival information exchange node (KZ-CN Protocol of 2021)."""


def run(args: list[str] | None = None) -> int:
    """Run one command line; return its exit status. A failure is one error (JSON with
    --json), never a traceback: see ``cli/_errors.py``."""
    args = sys.argv[1:] if args is None else list(args)
    try:
        # standalone_mode=False: click's own errors come here too, to be shown our way.
        rv = app(args=args, prog_name="ctop-node", standalone_mode=False)
    except typer.Exit as done:
        return done.exit_code
    except Exception as exc:  # every failure ends as one error; see _errors.classify
        from typer._click.exceptions import NoArgsIsHelpError

        if isinstance(exc, NoArgsIsHelpError):  # a group without its command: its help
            typer.echo(exc.format_message())
            return 2
        from ctop_node.cli._errors import fail

        return fail(exc, args)
    return rv if isinstance(rv, int) else 0


def main() -> None:
    private_umask()  # every file the node writes is 0600, every directory 0700
    sys.exit(run())
