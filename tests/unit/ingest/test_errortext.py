"""The one place that formats input values into error text."""

from __future__ import annotations

from typing import Any

import pytest

from ctop_node.ingest.errortext import (
    MESSAGE_LIMIT,
    QUOTE_LIMIT,
    WITHHELD,
    is_flagged_secret,
    printable,
    quote,
    safe_message,
    unstorable_field,
)


def test_quote_clips_escapes_and_withholds() -> None:
    assert quote("abc") == "'abc'"
    long = quote("x" * 1000)
    assert long == "'" + "x" * QUOTE_LIMIT + "' (+936 more characters)"
    assert quote("a\x00b\ud800\n") == "'a\\x00b\\ud800\\x0a'"
    assert quote("secret", secret=True) == WITHHELD
    assert quote(10**5000).startswith("'<int>")  # str() refuses so many digits
    assert quote(b"\xff\xfe") == "'\\xff\\xfe'"


def test_printable_leaves_ordinary_text_alone() -> None:
    text = "Қазақстан 中国 Россия\t€ - ok"
    assert printable(text) == text
    assert printable("\x00\x1b\u2028") == "\\x00\\x1b\\u2028"


def test_safe_message_requotes_values_built_elsewhere() -> None:
    message = "container number '" + "K" * 500 + "' is not ISO 6346"
    safe = safe_message(message)
    assert "K" * QUOTE_LIMIT in safe and "K" * (QUOTE_LIMIT + 1) not in safe
    assert safe.endswith("is not ISO 6346")
    # A value holding a quote slips out of the quoted run; long runs are still clipped.
    tricky = safe_message("value 'a'" + "Z" * 300 + "' end")
    assert "Z" * (QUOTE_LIMIT + 1) not in tricky
    assert len(safe_message("word " * 1000)) < MESSAGE_LIMIT + 64


@pytest.mark.parametrize(
    ("flags", "secret"),
    [
        ({"state_secret": True}, True),
        ({"state_secret": "true"}, True),
        ({"state_secret": "yes please"}, True),
        ({"state_secret": 1}, True),
        ({"state_secret": False}, False),
        ({"state_secret": "false"}, False),
        ({"state_secret": " 0 "}, False),
        ({}, False),
        ("junk", False),
    ],
)
def test_secret_flag_is_read_generously(flags: Any, secret: bool) -> None:
    assert is_flagged_secret({"flags": flags}) is secret


def test_unstorable_field_names_the_path() -> None:
    assert unstorable_field({"a": "fine", "b": [1, "ok"]}) is None
    assert unstorable_field({"a": {"b": ["x", "y\x00"]}}) == "$.a.b[1]"
    assert unstorable_field({"a\x00": 1}) == "$.a\\x00"
    assert unstorable_field({"a": "\udc80"}) == "$.a"
    assert unstorable_field({"note": "literal \\u0000 is fine"}) is None
    assert unstorable_field({"big": 10**30, "t": "\x00"}) == "$.t"  # orjson refuses the int
