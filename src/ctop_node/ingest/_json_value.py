"""Parsing one JSON record, refusing duplicate keys anywhere in it.

JSON leaves duplicate keys undefined and parsers resolve them last-wins, so a record holding
``"flags":{"state_secret":true},"flags":{"state_secret":false}`` would be read as not secret
while another system reads it as secret. A record with a duplicate key is rejected
(``input.duplicate_key``), naming the record and the JSON path.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import orjson

from ctop_node.ingest.errortext import quote, safe_path

DUPLICATE_KEY = "input.duplicate_key"
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)


class JsonProblem(Exception):
    def __init__(
        self,
        code: str,
        message: str,
        at: int | None = None,
        *,
        field: str = "$",
        record_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.at = at  # byte of the record where the problem is, when known
        self.field = field
        self.record_id = record_id


class _Duplicate(Exception):
    pass


class _Pairs(list[tuple[str, Any]]):
    """An object kept as its members in order, to find where a key repeats."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _Duplicate
    return obj


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads_with_decimals(data: bytes) -> Any:
    """A JSON value with non-integer numbers as Decimal; ``JsonProblem`` when it is not JSON
    or repeats a key in one of its objects."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonProblem("input.json", "invalid UTF-8", exc.start) from exc
    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_constant=_refuse_constant,
            object_pairs_hook=_no_duplicates,
        )
    except _Duplicate:
        raise duplicate_problem(text) from None
    except json.JSONDecodeError as exc:
        at = len(text[: exc.pos].encode("utf-8"))
        raise JsonProblem("input.json", f"invalid JSON: {exc.msg}", at) from exc
    except ValueError as exc:  # NaN, Infinity
        raise JsonProblem("input.json", f"invalid JSON: {exc}") from exc


def check_no_duplicates(data: bytes, value: Any) -> None:
    """For a value already parsed (by orjson) from ``data``: ``JsonProblem`` if ``data``
    repeats a key. Each member in the text has one ``:`` outside strings, so the parsed value
    has fewer members exactly when a key repeats. Written back by orjson, the value has one
    ``:`` per member plus those inside strings, which ``data`` holds too unless it escapes
    one as ``\\u003a`` (then the slow count that skips strings decides)."""
    if b"\\u003" not in data:
        if data.count(b":") == orjson.dumps(value).count(b":"):
            return
    elif _STRING.sub(b"", data).count(b":") == _members(value):
        return
    raise duplicate_problem(data.decode("utf-8", "replace"))


def _members(value: Any) -> int:
    count = 0
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            count += len(v)
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return count


def duplicate_problem(text: str) -> JsonProblem:
    """The problem naming the first repeated key of ``text`` (known to hold one)."""
    try:
        tree = json.loads(text, object_pairs_hook=_Pairs)
    except ValueError:
        return JsonProblem(DUPLICATE_KEY, "a key appears more than once in one object")
    rid = _record_id(tree)
    record = f"record {quote(rid)}: " if rid is not None else ""
    stack: list[tuple[str, Any]] = [("$", tree)]
    while stack:
        path, v = stack.pop()
        if isinstance(v, _Pairs):
            seen: set[str] = set()
            for key, _child in v:
                if key in seen:
                    where = safe_path(f"{path}.{key}")
                    return JsonProblem(
                        DUPLICATE_KEY,
                        f"{record}the key {quote(key)} appears more than once at {where}; "
                        "JSON leaves its meaning undefined, so the record is refused",
                        field=where,
                        record_id=rid,
                    )
                seen.add(key)
            stack.extend((f"{path}.{k}", c) for k, c in reversed(v))
        elif isinstance(v, list):
            stack.extend((f"{path}[{i}]", c) for i, c in reversed(list(enumerate(v))))
    return JsonProblem(DUPLICATE_KEY, "a key appears more than once in one object")


def _record_id(tree: Any) -> str | None:
    if isinstance(tree, _Pairs):
        for key, value in tree:
            if key == "record_id" and isinstance(value, str):
                return value
    return None
