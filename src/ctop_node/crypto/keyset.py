"""The node's key set, built in one place: the signer (its signing key and certificate), the
decryptor (its encryption key) and the trust store (the peers' certificates, CRLs and
encryption keys). Every part of the node that signs, opens or seals asks for it here, so
moving keys to an HSM or another process changes this factory only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ctop_node.crypto.interfaces import Decryptor, Signer, TrustStore
from ctop_node.crypto.pki import Clock, utcnow
from ctop_node.crypto.software import HomeDecryptor, SoftwareSigner
from ctop_node.crypto.trust import BundleTrustStore, HomeTrustStore, TrustBundle


@dataclass(frozen=True, slots=True)
class NodeKeys:
    signer: Signer
    decryptor: Decryptor
    trust: TrustStore


def node_keys(home: Path, *, clock: Clock = utcnow) -> NodeKeys:
    """The key set of the node at ``home``: software keys and the imported trust bundles.

    The decryptor and the trust store re-read the home when it changes (after `pki rotate`, a
    trust update or a new CRL); CRL freshness is judged on ``clock``."""
    return NodeKeys(
        SoftwareSigner.from_home(home),
        HomeDecryptor(home),
        HomeTrustStore(home, clock=clock),
    )


def trust_of(bundles: Iterable[TrustBundle]) -> TrustStore:
    """A trust store of the given bundles only (e.g. the peer's manifest checked against a
    bundle file), not the node's own."""
    return BundleTrustStore.of(bundles)
