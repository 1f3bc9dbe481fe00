"""The node's key set comes from one factory: a message sealed with KZ's set opens with CN's,
and no module outside crypto/ builds keys or trust stores of its own."""

from __future__ import annotations

import ast
from pathlib import Path

from ctop_node.crypto.envelope import EnvelopeHeader, open_, seal
from ctop_node.crypto.keyset import node_keys
from ctop_node.model.messages import MessageType
from tests._homes import Home

SRC = Path(__file__).parents[3] / "src" / "ctop_node"
BUILDERS = {"SoftwareSigner", "SoftwareDecryptor", "BundleTrustStore"}


def test_one_key_set_signs_and_the_peers_opens(kz_cn_homes: tuple[Home, Home]) -> None:
    kz_home, cn_home = kz_cn_homes
    kz, cn = node_keys(kz_home.home), node_keys(cn_home.home)
    assert kz.signer.kid == kz_home.signer.kid
    head = EnvelopeHeader.new(
        MessageType.CONSIGNMENT,
        sender="KZ",
        recipient="CN",
        tc_version="1",
        record_id="R",
        version=1,
    )
    sealed = seal(head, b"{}", kz.signer, kz.trust.recipient_key("CN"))
    opened = open_(sealed, cn.trust, cn.decryptor, "CN")
    assert (opened.signer.party, opened.payload) == ("KZ", b"{}")


def test_keys_are_built_only_by_the_factory() -> None:
    """Outside crypto/, nothing names the software key classes: it asks ``node_keys``."""
    found = []
    for path in SRC.rglob("*.py"):
        # The conformance kit holds deliberately other keys (expired, revoked, an impostor's):
        # it is a test tool acting as the peer, not the node.
        if path.relative_to(SRC).parts[0] in ("crypto", "conformance"):
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Name) and node.id in BUILDERS:
                found.append(f"{path.relative_to(SRC)}:{node.lineno} {node.id}")
    assert found == []
