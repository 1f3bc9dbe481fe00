"""How ``serve`` logs: plain text for a terminal, or one JSON object per line for a collector
(journald, Loki, Elasticsearch).

A JSON line holds ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``event`` (the message as
the code wrote it), and ``code``, ``peer``, ``message_id`` when the call site gives them
(``log.warning("...", extra={"code": exc.code, "peer": peer})``), else null. Record content is
never logged: call sites name records by id only, and an exception is reduced to its class,
its error code and the frames (file, line, function) — never its message, which could quote
input (a pydantic error quotes the value it refused).
"""

from __future__ import annotations

import enum
import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

from ctop_node.errors import CtopError

FIELDS = ("code", "peer", "message_id")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Loggers of libraries that configure their own handlers (uvicorn does, each time a server is
# configured): their records are sent to ours, so that every line has the chosen format.
LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


class LogFormat(enum.StrEnum):
    text = "text"
    json = "json"


class LogLevel(enum.StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            line[name] = None if value is None else str(value)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            line["exc_type"] = type(exc).__name__
            if isinstance(exc, CtopError):
                line["code"] = line["code"] or exc.code
            line["frames"] = [
                f"{f.filename}:{f.lineno} in {f.name}"
                for f in traceback.extract_tb(exc.__traceback__)
            ]
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(fmt: LogFormat, level: LogLevel) -> None:
    """Log records of ``level`` and above to stderr in ``fmt``."""
    handler = logging.StreamHandler(sys.stderr)
    formatter = JsonFormatter() if fmt is LogFormat.json else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    route_library_logs()


def route_library_logs() -> None:
    """Send the library loggers' records through the root handler (call again after uvicorn
    configured its own: it does when a server is configured)."""
    for name in LIBRARY_LOGGERS:
        lib = logging.getLogger(name)
        lib.handlers.clear()
        lib.propagate = True
