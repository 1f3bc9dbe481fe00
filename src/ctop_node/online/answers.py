"""Reading the peer's signed answer to one message we sent, for the small flows (control
results, manifests) that send one message at a time."""

from __future__ import annotations

from ctop_node.crypto.envelope import message_digest, open_
from ctop_node.crypto.interfaces import Decryptor, TrustStore
from ctop_node.errors import CryptoError
from ctop_node.model.messages import MessageType, Receipt, Rejection


def read_answer(
    answer: bytes,
    *,
    party: str,
    peer: str,
    message_id: str,
    sent: bytes,
    trust: TrustStore,
    decryptor: Decryptor,
) -> Receipt | Rejection:
    """The RECEIPT or REJECTION that ``peer`` signed for our message ``message_id`` (the
    bytes ``sent``). Raises ``CryptoError`` when the answer does not verify, is not the
    peer's, answers another message or names another digest, and pydantic's
    ``ValidationError`` when its payload is not the answer type's."""
    opened = open_(answer, trust, decryptor, party)
    head = opened.header
    if opened.signer.party != peer or head.correlation_id != message_id:
        raise CryptoError("the answer is not the peer's answer to this message")
    if head.type is MessageType.RECEIPT:
        receipt = Receipt.model_validate_json(opened.payload)
        if receipt.message_id != message_id or receipt.message_digest != message_digest(sent):
            raise CryptoError("the receipt names another message or digest")
        return receipt
    return Rejection.model_validate_json(opened.payload)
