"""A prepared KZ kit home and a CN node home that trust each other (fresh keys per test)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from ctop_node.conformance.kit import KitHome, prepare
from ctop_node.conformance.messages import Sealer
from ctop_node.crypto.trust import export_trust, import_trust
from tests._homes import Home, make_home


@dataclass
class KitPair:
    kit: KitHome
    cn: Home

    def sealer(self) -> Sealer:
        return Sealer(self.kit, "KZ", "CN")


@pytest.fixture
def kit_pair(tmp_path: Path) -> KitPair:
    cn = make_home(tmp_path, "CN")
    export_trust(cn.home, tmp_path / "cn-trust.json")
    kit = prepare(tmp_path / "kit", "KZ", peer_trust=tmp_path / "cn-trust.json")
    import_trust(cn.home, kit.trust_file, own_party="CN")
    return KitPair(kit, cn)
