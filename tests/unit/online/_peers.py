"""Two real node homes (KZ and CN, each with its own Party CA) and sealed messages between
them, for the receiver, endpoint and end-to-end tests. Every run makes fresh keys."""

from __future__ import annotations

import copy
import dataclasses
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ctop_node.crypto.envelope import EnvelopeHeader, seal
from ctop_node.crypto.interfaces import Signer
from ctop_node.crypto.node import NodePaths, init_node
from ctop_node.crypto.pki import PartyCA
from ctop_node.crypto.software import SoftwareDecryptor, SoftwareSigner
from ctop_node.crypto.trust import BundleTrustStore, export_trust, import_trust
from ctop_node.model.canonical import canonical_bytes
from ctop_node.model.messages import Cancellation, MessageType
from ctop_node.model.record import Consignment


@dataclass
class Home:
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


def make_home(root: Path, party: str) -> Home:
    home = root / party.lower()
    return Home(party, home, init_node(home, party))


def exchange_trust(a: Home, b: Home, root: Path) -> None:
    for src, dst in ((a, b), (b, a)):
        bundle = root / f"{src.party}.trust.json"
        export_trust(src.home, bundle)
        import_trust(dst.home, bundle, own_party=dst.party)


def make_pair(root: Path) -> tuple[Home, Home]:
    kz, cn = make_home(root, "KZ"), make_home(root, "CN")
    exchange_trust(kz, cn, root)
    return kz, cn


def record_body(data: dict[str, Any]) -> bytes:
    """The canonical body of a valid record, or sorted JSON of an invalid one."""
    try:
        return canonical_bytes(Consignment.model_validate(data))
    except ValueError:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def amended(data: dict[str, Any], n: int) -> dict[str, Any]:
    """A different (valid) content of the same record."""
    out = copy.deepcopy(data)
    out["transport_document"]["number"] = f"SMGS-26-{n:07d}"
    return out


def sealed(
    sender: Home,
    payload: bytes,
    *,
    mtype: MessageType = MessageType.CONSIGNMENT,
    record_id: str | None = None,
    version: int | None = 1,
    message_id: str | None = None,
    recipient: str = "CN",
    tc_version: str = "1",
    signer: Signer | None = None,
) -> bytes:
    header = EnvelopeHeader.new(
        mtype,
        sender=sender.party,
        recipient=recipient,
        tc_version=tc_version,
        record_id=record_id,
        version=version,
    )
    if message_id is not None:
        header = dataclasses.replace(header, message_id=message_id)
    key = sender.trust().recipient_key(recipient)
    return seal(header, payload, signer or sender.signer, key)


def record_message(
    sender: Home,
    data: dict[str, Any],
    *,
    version: int = 1,
    message_id: str | None = None,
    **kw: Any,
) -> bytes:
    mtype = MessageType.CONSIGNMENT if version == 1 else MessageType.AMENDMENT
    return sealed(
        sender,
        record_body(data),
        mtype=mtype,
        record_id=data["record_id"],
        version=version,
        message_id=message_id,
        **kw,
    )


def cancellation_message(sender: Home, record_id: str, version: int = 1) -> bytes:
    body = canonical_bytes(Cancellation(record_id=record_id, version=version, reason="cancelled"))
    return sealed(
        sender, body, mtype=MessageType.CANCELLATION, record_id=record_id, version=version
    )


def new_id() -> str:
    return str(uuid.uuid4())
