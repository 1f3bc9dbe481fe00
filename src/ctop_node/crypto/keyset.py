"""The node's key set, built in one place: the signer (its signing key and certificate), the
decryptor (its encryption key) and the trust store (the peers' certificates, CRLs and
encryption keys). Every part of the node that signs, opens or seals asks for it here, so
moving keys to an HSM or another process changes this factory only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ctop_node.crypto.interfaces import Decryptor, Signer, TrustStore
from ctop_node.crypto.software import SoftwareDecryptor, SoftwareSigner
from ctop_node.crypto.trust import BundleTrustStore


@dataclass(frozen=True, slots=True)
class NodeKeys:
    signer: Signer
    decryptor: Decryptor
    trust: TrustStore


def node_keys(home: Path) -> NodeKeys:
    """The key set of the node at ``home``: software keys and the imported trust bundles."""
    return NodeKeys(
        SoftwareSigner.from_home(home),
        SoftwareDecryptor.from_home(home),
        BundleTrustStore.from_home(home),
    )
