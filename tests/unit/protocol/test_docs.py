"""The prose of docs/protocol/ names only codes the node really uses: every dotted code written
in it is in the code table (docs/rejection-codes.md), is a whole-request error, or is a
local code the node raises."""

from __future__ import annotations

import re
from pathlib import Path

from ctop_node.exchange import codes

DOCS = Path(__file__).parents[3] / "docs" / "protocol"
SRC = Path(codes.__file__).parents[1]
CODE = re.compile(r"`((?:exchange|crypto|record|tc|store)\.[a-z_]+(?:\.[a-z_]+)*)`")


def test_every_code_in_the_prose_is_listed() -> None:
    # Answer codes of the table, and the local codes the node raises (trust.md names the
    # importer's own refusals, which never travel).
    raised = {
        code
        for path in SRC.rglob("*.py")
        for code in re.findall(r'code="([a-z_.]+)"', path.read_text("utf-8"))
    }
    known = set(codes.CODES) | {r.code for r in codes.REQUEST_ERRORS} | raised
    named = {
        (path.name, code)
        for path in DOCS.glob("*.md")
        for code in CODE.findall(path.read_text("utf-8"))
    }
    assert named, "no code found: the pattern is wrong"
    assert sorted((f, c) for f, c in named if c not in known) == []


# Written in the pki work (trust bundle, trust updates); this branch only links it.
ELSEWHERE = {"trust.md"}


def test_the_pages_link_to_each_other() -> None:
    for path in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", path.read_text("utf-8")):
            if target in ELSEWHERE and not (path.parent / target).exists():
                continue
            assert (path.parent / target).exists(), f"{path.name} links to missing {target}"
