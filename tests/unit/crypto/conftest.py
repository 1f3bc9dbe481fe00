"""Fixtures of the crypto tests: fresh Party CAs and node homes in tmp dirs (nothing secret
is committed; every test run makes its own keys)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from ctop_node.crypto.node import NodePaths, init_node
from ctop_node.crypto.pki import PartyCA
from ctop_node.crypto.software import SoftwareDecryptor, SoftwareSigner
from ctop_node.crypto.trust import BundleTrustStore, export_trust, import_trust


@dataclass
class Node:
    party: str
    home: Path
    ca: PartyCA

    @property
    def paths(self) -> NodePaths:
        return NodePaths(self.home)

    @property
    def signer(self) -> SoftwareSigner:
        return SoftwareSigner.from_home(self.home)

    @property
    def decryptor(self) -> SoftwareDecryptor:
        return SoftwareDecryptor.from_home(self.home)

    def trust(self) -> BundleTrustStore:
        return BundleTrustStore.from_home(self.home)


def make_node(root: Path, party: str) -> Node:
    home = root / party.lower()
    ca = init_node(home, party)
    return Node(party, home, ca)


def exchange(a: Node, b: Node, root: Path) -> None:
    """Export each node's trust bundle and import it at the other node."""
    for src, dst in ((a, b), (b, a)):
        bundle = root / f"{src.party}.trust.json"
        export_trust(src.home, bundle)
        import_trust(dst.home, bundle, own_party=dst.party)


@pytest.fixture
def kz(tmp_path: Path) -> Node:
    return make_node(tmp_path, "KZ")


@pytest.fixture
def cn(tmp_path: Path) -> Node:
    return make_node(tmp_path, "CN")


@pytest.fixture
def paired(kz: Node, cn: Node, tmp_path: Path) -> tuple[Node, Node]:
    exchange(kz, cn, tmp_path)
    return kz, cn
