"""The one place that puts input values into error text.

Error text travels far: into ``ingest_log``, the watched folder's reports, the API's answers and
the officer's screen. So a value is quoted at most ``QUOTE_LIMIT`` characters long (a symlinked
private key once reached a report through a CSV error message), with control characters, NUL and
lone surrogates escaped (PostgreSQL cannot store them), and never at all when its record is
flagged state-secret (Art.6: the body of such a record is never kept, not even in an error).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

QUOTE_LIMIT = 64  # characters of one value quoted in an error message
MESSAGE_LIMIT = 512  # characters of one message built elsewhere (validation, readers)
PATH_LIMIT = 256  # characters of a JSON path or XML element path
WITHHELD = "<value withheld: the record is flagged state-secret>"

# What PostgreSQL's text type cannot hold: NUL, and UTF-16 surrogates (not valid UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# What is escaped before text is shown or stored: controls, NUL, surrogates, line separators.
_UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")
_QUOTED = re.compile(r"'([^'\n]*)'")
_LONG_WORD = re.compile(rf"[^\s']{{{QUOTE_LIMIT + 1},}}")
_FALSE_WORDS = frozenset({"", "false", "0", "no", "n", "f"})


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with controls, NUL and lone surrogates written as escapes (storable anywhere)."""
    return _UNPRINTABLE.sub(_escape_char, text)


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value[: QUOTE_LIMIT * 4]).decode("utf-8", "backslashreplace")
    try:
        return str(value)
    except ValueError:  # an int too long for str() (Python's digit limit)
        return f"<{type(value).__name__}>"


def quote(value: object, *, secret: bool = False) -> str:
    """``value`` as it may appear in an error message: quoted, escaped, at most
    ``QUOTE_LIMIT`` characters, or withheld when its record is flagged state-secret."""
    if secret:
        return WITHHELD
    text = _as_text(value)
    shown = "'" + printable(text[:QUOTE_LIMIT]) + "'"
    if len(text) > QUOTE_LIMIT:
        shown += f" (+{len(text) - QUOTE_LIMIT} more characters)"
    return shown


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... (+{len(text) - limit} more characters)"


def safe_message(text: str) -> str:
    """A message built elsewhere (the model's validators, a parser) made safe to keep: every
    ``'quoted'`` run goes through :func:`quote`, the rest is escaped and clipped."""
    requoted = _QUOTED.sub(lambda m: quote(m.group(1)), text)
    # A value holding a quote escapes the quoted runs: no unbroken run outlives the limit.
    requoted = _LONG_WORD.sub(lambda m: _clip(m.group(), QUOTE_LIMIT), requoted)
    return printable(_clip(requoted, MESSAGE_LIMIT))


def safe_path(path: str) -> str:
    """A field path (``$.flags.<key>``) whose keys came from the input: escaped and clipped."""
    return printable(_clip(path, PATH_LIMIT))


def withheld_message(code: str) -> str:
    """The message of a field error of a state-secret record: the rule, never the value."""
    return f"breaks rule {code}; the value is not quoted: the record is flagged state-secret"


def is_flagged_secret(data: object) -> bool:
    """Whether a record *as read* (before validation) may be flagged state-secret.

    Deliberately generous (any value but an explicit false), so a malformed flag still keeps
    the record's values out of error text."""
    if not isinstance(data, Mapping):
        return False
    flags = data.get("flags")
    if not isinstance(flags, Mapping):
        return False
    flag = flags.get("state_secret")
    if flag is None or flag is False:
        return False
    return not (isinstance(flag, str) and flag.strip().lower() in _FALSE_WORDS)


def unstorable_field(data: Any) -> str | None:
    """The JSON path of the first key or string value that a database cannot store (NUL or
    a lone surrogate), or None. Checked before the store, so SQLite and PostgreSQL agree."""
    try:
        # Fast path in C: orjson refuses surrogates and writes NUL as \\u0000.
        if b"\\u0000" not in orjson.dumps(data, default=str):
            return None
    except (TypeError, orjson.JSONEncodeError):
        pass
    stack: list[tuple[str, Any]] = [("$", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if _UNSTORABLE.search(value):
                return safe_path(path)
        elif isinstance(value, Mapping):
            items = list(value.items())
            for key, child in reversed(items):
                name = key if isinstance(key, str) else str(key)
                if _UNSTORABLE.search(name):
                    return safe_path(f"{path}.{name}")
                stack.append((f"{path}.{name}", child))
        elif isinstance(value, list | tuple):
            for i in range(len(value) - 1, -1, -1):
                stack.append((f"{path}[{i}]", value[i]))
    return None
