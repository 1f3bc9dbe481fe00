"""How a failed command ends: one error, never a traceback.

With ``--json`` the error is one JSON object on stdout (where the caller parses),
``{"error": {"code": ..., "message": ...}}``; without it, one localized line on stderr,
``Error: [code] message``. ``serve --log-format json`` writes it as one JSON log line on
stderr instead, like the rest of its output.

Every failure gets a stable code of the tree in ``ctop_node.errors``: the errors the project
raises keep theirs; the command line's own (click's) and the operating system's are given one
here:

    usage.no_such_option   an option the command does not have
    usage.no_such_command  a command that does not exist
    usage.missing          a required option or argument is missing
    usage.bad_choice       a value outside an option's choices
    usage.bad_value        a value of the wrong type (not a number, not a date ...)
    usage.command_line     any other command-line mistake
    usage.aborted          a prompt was interrupted (Ctrl-D, Ctrl-C)
    usage.file             a file the operator named cannot be read or written
    config.port_in_use     a port to listen on is taken
    transport.unreachable  a connection was refused or timed out
    store.os               any other error of the operating system (disk full ...)
    ctop.internal          a bug: the message says which exception; CTOP_DEBUG=1 shows where
"""

from __future__ import annotations

import errno
import os
import re
import sys
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import typer
from typer._click import exceptions as click_exc  # typer vendors click: its exceptions

from ctop_node.errors import ConfigError, CtopError, StorageError, TransportError, UsageError
from ctop_node.i18n import _

# Exit statuses: 2 a usage error (as click), 1 any other error, 70 a bug (sysexits EX_SOFTWARE).
USAGE_STATUS = 2
ERROR_STATUS = 1
BUG_STATUS = 70

_FILE_ERRNOS = frozenset(
    {
        errno.ENOENT,
        errno.EACCES,
        errno.EPERM,
        errno.EISDIR,
        errno.ENOTDIR,
        errno.EROFS,
        errno.EEXIST,
        errno.ENAMETOOLONG,
        errno.ELOOP,
    }
)
_NO_SUCH_COMMAND = re.compile(r"No such command '(?P<name>[^']*)'")
_GIVEN = re.compile(
    r"(?P<q>['\"])(?P<value>.*)(?P=q) is not one of "
)  # typer's message for a bad choice


def wants_json(args: Sequence[str]) -> bool:
    """``--json`` among the options (not after ``--``, where it would be an argument)."""
    for arg in args:
        if arg == "--":
            return False
        if arg == "--json":
            return True
    return False


def _log_json(args: Sequence[str]) -> bool:
    """``serve --log-format json`` (or ``--log-format=json``): errors as a JSON log line."""
    joined = " ".join(args)
    return "--log-format json" in joined or "--log-format=json" in joined


def _param_name(exc: click_exc.BadParameter) -> str:
    if exc.param is not None:
        opts = [o for o in exc.param.opts if o.startswith("--")] or exc.param.opts
        if exc.param.param_type_name == "option":
            return opts[0]
        return (exc.param.name or opts[0]).upper()
    hint = exc.param_hint
    return str(hint if isinstance(hint, str) else " / ".join(hint or ("?",)))


def _choices(exc: click_exc.BadParameter) -> list[str] | None:
    desc = getattr(exc.param, "type_descriptor", None)
    if desc is None or not desc.is_choice or not desc.choices:
        return None
    return [str(getattr(c, "value", c)) for c in desc.choices]


def from_click(exc: click_exc.ClickException) -> CtopError:
    """A localized error with a stable code for one of click's own exceptions."""
    if isinstance(exc, click_exc.NoSuchOption):
        message = _("no such option {option}").format(option=exc.option_name)
        if exc.possibilities:
            message += "; " + _("did you mean {options}?").format(
                options=", ".join(sorted(exc.possibilities))
            )
        return UsageError(message, code="usage.no_such_option")
    if isinstance(exc, click_exc.MissingParameter):
        name = _param_name(exc)
        kind = exc.param_type or (exc.param.param_type_name if exc.param else "parameter")
        if kind == "argument":
            message = _("missing argument {name}").format(name=name.upper())
        else:
            message = _("missing option {name}").format(name=name)
        choices = _choices(exc)
        if choices:
            message += "; " + _("choose one of: {choices}").format(choices=", ".join(choices))
        return UsageError(message, code="usage.missing")
    if isinstance(exc, click_exc.BadParameter):
        name = _param_name(exc)
        choices = _choices(exc)
        if choices:
            given = _GIVEN.search(exc.message)
            return UsageError(
                _("invalid value {value} for {name}; choose one of: {choices}").format(
                    value=repr(given["value"]) if given else "?",
                    name=name,
                    choices=", ".join(choices),
                ),
                code="usage.bad_choice",
            )
        detail = exc.message.removeprefix("Value error, ")
        return UsageError(
            _("invalid value for {name}: {detail}").format(name=name, detail=detail),
            code="usage.bad_value",
        )
    if isinstance(exc, click_exc.FileError):
        return UsageError(
            _("cannot open {path}: {reason}").format(path=exc.ui_filename, reason=exc.message),
            code="usage.file",
        )
    found = _NO_SUCH_COMMAND.search(exc.message)
    if found:
        return UsageError(
            _("no such command {name}").format(name=found["name"]), code="usage.no_such_command"
        )
    return UsageError(exc.format_message(), code="usage.command_line")


def from_os(exc: OSError) -> CtopError:
    """An error of the operating system that reached the top: the operator's to fix."""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.EADDRINUSE:
        return ConfigError(
            _("cannot listen: {reason}; another process holds the port").format(reason=reason),
            code="config.port_in_use",
        )
    if isinstance(exc, ConnectionError | TimeoutError):
        return TransportError(
            _("cannot connect: {reason}").format(reason=reason), code="transport.unreachable"
        )
    if exc.filename is not None and exc.errno in _FILE_ERRNOS:
        return UsageError(
            _("cannot use {path}: {reason}").format(path=exc.filename, reason=reason),
            code="usage.file",
        )
    where = f" ({exc.filename})" if exc.filename is not None else ""
    return StorageError(
        _("the system refused: {reason}").format(reason=reason) + where, code="store.os"
    )


def status_of(error: CtopError) -> int:
    if error.code == "ctop.internal":
        return BUG_STATUS
    return USAGE_STATUS if isinstance(error, UsageError) else ERROR_STATUS


def classify(exc: BaseException) -> tuple[CtopError, int]:
    """The error to show for an exception that ended a command, and the exit status."""
    if isinstance(exc, CtopError):
        error = exc
    elif isinstance(exc, click_exc.ClickException):
        error = from_click(exc)
        status = exc.exit_code if not isinstance(exc, click_exc.UsageError) else USAGE_STATUS
        return error, status
    elif isinstance(exc, OSError):
        error = from_os(exc)
    elif isinstance(exc, typer.Abort):
        error = UsageError(_("aborted"), code="usage.aborted")
    else:
        error = CtopError(
            _("unexpected {kind}: {detail} (a bug: set CTOP_DEBUG=1 to see where)").format(
                kind=type(exc).__name__, detail=exc
            ),
            code="ctop.internal",
        )
    return error, status_of(error)


def show(error: CtopError, args: Sequence[str], *, hint: str | None = None) -> None:
    """Write one error the way the command line asked for."""
    if wants_json(args):
        doc: dict[str, Any] = {"code": error.code, "message": error.message}
        sys.stdout.buffer.write(orjson.dumps({"error": doc}) + b"\n")
        sys.stdout.flush()
    elif _log_json(args):
        line = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": "error",
            "logger": "ctop_node.cli",
            "event": error.message,
            "code": error.code,
            "peer": None,
            "message_id": None,
        }
        sys.stderr.buffer.write(orjson.dumps(line) + b"\n")
        sys.stderr.flush()
    else:
        text = _("Error: {message}").format(message=error)
        if hint:
            text += " " + hint
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def fail(exc: BaseException, args: Sequence[str]) -> int:
    """Show ``exc`` as one error and return the exit status."""
    error, status = classify(exc)
    if error.code == "ctop.internal" and os.environ.get("CTOP_DEBUG"):
        traceback.print_exception(exc, file=sys.stderr)
    hint = None
    if isinstance(exc, click_exc.UsageError) and exc.ctx is not None:
        hint = "(" + _("see {command} --help").format(command=exc.ctx.command_path) + ")"
    show(error, args, hint=hint)
    return status
