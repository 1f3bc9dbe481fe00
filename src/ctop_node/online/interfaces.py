"""The contract shared by every channel's sender: hand a batch of sealed messages to a peer,
get one answer per message back.

A :class:`Transport` moves bytes; it never opens envelopes nor judges answers (the sender
does that against the trust store). It answers per message with a :class:`DeliveryAnswer`,
or raises a :class:`~ctop_node.errors.TransportError` subclass when the whole batch failed::

    TransportError                  (ctop_node.errors)
    ├── PeerUnreachable     transport.unreachable   connection refused, DNS, reset
    ├── PeerTimeout         transport.timeout       connect/read/write/pool timeout
    ├── TlsFailure          transport.tls           handshake: unknown CA, bad cert, ...
    ├── HttpStatusError     transport.http_status   the peer answered with a non-200 status
    └── ProtocolViolation   transport.protocol      a 200 whose body is not the agreed answer

Every one of them is retriable: the sender keeps the batch and tries again later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ctop_node.errors import TransportError

# The answer statuses belong to the receive path; the sender's contract names them too.
from ctop_node.exchange.receive import ANSWER_STATUSES as ANSWER_STATUSES
from ctop_node.exchange.receive import AnswerStatus as AnswerStatus


class PeerUnreachable(TransportError):
    code = "transport.unreachable"


class PeerTimeout(TransportError):
    code = "transport.timeout"


class TlsFailure(TransportError):
    code = "transport.tls"


class HttpStatusError(TransportError):
    code = "transport.http_status"

    def __init__(self, message: str, *, status: int, peer_code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.peer_code = peer_code  # the "code" of the peer's JSON error body, if any


class ProtocolViolation(TransportError):
    code = "transport.protocol"


@dataclass(frozen=True, slots=True)
class DeliveryAnswer:
    """What the peer said about one message of a batch (same order as sent).

    ``answer`` is the peer's sealed RECEIPT or REJECTION, still to be verified by the sender;
    ``refused`` means the peer could not authenticate the message and stored nothing.
    """

    status: AnswerStatus
    answer: bytes | None
    code: str = ""
    message: str = ""


@runtime_checkable
class Transport(Protocol):
    """Delivers sealed messages to a peer Party."""

    def send(self, peer: str, messages: list[bytes]) -> list[DeliveryAnswer]:
        """Deliver ``messages`` to ``peer``; one answer per message, in order.

        Raises a ``TransportError`` subclass when the batch as a whole failed (nothing is
        known about any of its messages).
        """
        ...

    def close(self) -> None:
        """Release connections."""
        ...
