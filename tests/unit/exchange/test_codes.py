"""The rejection-code table and its published document agree; every code the receiver can
produce has a class."""

from __future__ import annotations

import re
from pathlib import Path

from ctop_node.crypto import errors as crypto_errors
from ctop_node.errors import CryptoError
from ctop_node.exchange import codes

DOC = Path(__file__).parents[3] / "docs" / "rejection-codes.md"
SRC = Path(codes.__file__).parents[1]


def test_doc_is_generated_from_the_table() -> None:
    assert DOC.read_text("utf-8") == codes.render_markdown(), (
        "regenerate: python -m ctop_node.exchange.codes > docs/rejection-codes.md"
    )


def test_doc_lists_every_code_with_its_class() -> None:
    text = DOC.read_text("utf-8")
    for code in codes.CODES.values():
        assert f"| {code.klass} | `{code.code}` |" in text


def test_ncts_numbers_of_the_exchange_codes() -> None:
    expected = {
        "exchange.duplicate_message_id": "26",
        "exchange.unknown_record": "90",
        "exchange.out_of_sequence": "92",
        "record.container.check_digit": "93",
        "record.wagon.check_digit": "93",
        "record.code_list.country": "13",
        "record.missing": "12",
        "record.type": "14",
        "exchange.wrong_route": "15",
        "tc.unknown_version": "13",
    }
    assert {c: codes.numeric_class(c) for c in expected} == expected


def test_every_crypto_error_is_a_security_refusal() -> None:
    classes = [
        c
        for c in vars(crypto_errors).values()
        if isinstance(c, type) and issubclass(c, CryptoError) and c.code != "crypto.pki"
    ]
    assert classes
    for cls in classes:
        assert cls.code in codes.CODES, cls.code
        assert codes.numeric_class(cls.code) == codes.SECURITY


def test_every_code_the_exchange_and_model_raise_is_listed() -> None:
    pattern = re.compile(r'"((?:record|exchange)\.[a-z_]+(?:\.[a-z_]+)*)"')
    found = set()
    receiving = [
        SRC / "exchange" / "checks.py",
        SRC / "exchange" / "receive.py",
        SRC / "lock" / "reader.py",
        SRC / "store" / "inbox.py",
    ]
    for path in [*SRC.glob("model/*.py"), *SRC.glob("tc/*.py"), *receiving]:
        found.update(pattern.findall(path.read_text("utf-8")))
    # Ingest-side codes that never reach a peer answer.
    ingest_only = {"record.refused", "record.not_found", "record.version_not_found"}
    missing = sorted(c for c in found - ingest_only if c not in codes.CODES)
    assert missing == [], f"add these codes to exchange/codes.py: {missing}"


def test_unlisted_code_falls_back_to_its_prefix() -> None:
    assert codes.info("record.code_list.unit").klass == "13"
    assert codes.info("something.else").klass == "15"
