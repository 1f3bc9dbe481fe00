"""Technical conditions version 1: the data set agreed for the first exchange."""

from __future__ import annotations

from ctop_node.model.messages import Cancellation, ControlResult, MessageType, Receipt, Rejection
from ctop_node.model.record import Consignment
from ctop_node.tc.registry import TcVersion

TC_V1 = TcVersion(
    version=1,
    record_model=Consignment,
    payloads={
        MessageType.CONSIGNMENT: Consignment,
        MessageType.AMENDMENT: Consignment,
        MessageType.CANCELLATION: Cancellation,
        MessageType.RECEIPT: Receipt,
        MessageType.REJECTION: Rejection,
        MessageType.CONTROL_RESULT: ControlResult,
    },
    title="CTOP technical conditions v1 (KZ-CN Protocol of 4 February 2021)",
)
