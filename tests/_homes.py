"""Real node homes for the tests: each with its own Party CA, keys and trust store, made in a
tmp dir (nothing secret is committed; every run makes fresh keys), and trust exchanged."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ctop_node.crypto.node import NodePaths, init_node
from ctop_node.crypto.pki import PartyCA
from ctop_node.crypto.software import SoftwareDecryptor, SoftwareSigner
from ctop_node.crypto.trust import BundleTrustStore, export_trust, import_trust


@dataclass
class Home:
    """One node home. Signer, decryptor and trust are read from disk at each use, so a test
    that changes the home (a new bundle, a revoked certificate) sees the change."""

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


def make_home(root: Path, party: str, name: str | None = None) -> Home:
    """A home at ``root/name`` (default: the Party code in lower case) with a new Party CA."""
    home = root / (name or party.lower())
    return Home(party, home, init_node(home, party))


def exchange_trust(a: Home, b: Home, root: Path) -> None:
    """Export each home's trust bundle and import it at the other."""
    for src, dst in ((a, b), (b, a)):
        bundle = root / f"{src.home.name}.trust.json"
        export_trust(src.home, bundle)
        import_trust(dst.home, bundle, own_party=dst.party)


def make_pair(root: Path) -> tuple[Home, Home]:
    """KZ and CN homes that trust each other."""
    kz, cn = make_home(root, "KZ"), make_home(root, "CN")
    exchange_trust(kz, cn, root)
    return kz, cn
