"""What a scenario is: a numbered, named sequence of steps, each one request (or one action
such as a lock reading) with the answer the spec prescribes for every message in it.

Scenarios are data: the modules under :mod:`ctop_node.conformance.scenarios` declare them
with :class:`Scenario` and :class:`Step`; :mod:`ctop_node.conformance.runner` plays them.
A step's ``send`` builds its request from the :class:`Context` (fresh record ids per run and
scenario, messages named by earlier steps), so a scenario can be played again and again
against the same peer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cbor2

from ctop_node.conformance import records
from ctop_node.conformance.client import Reply
from ctop_node.conformance.judge import Expect
from ctop_node.conformance.messages import Sealer, Sent
from ctop_node.online.endpoint import CBOR


@dataclass(frozen=True, slots=True)
class Request:
    """One POST: the messages it carries (judged one by one) and, when the body is not
    simply the CBOR array of them, the body and content type to send instead."""

    messages: tuple[Sent, ...] = ()
    body: bytes | None = None
    content_type: str = CBOR

    def wire(self) -> bytes:
        if self.body is not None:
            return self.body
        return bytes(cbor2.dumps([m.raw for m in self.messages]))


def batch(*messages: Sent) -> Request:
    return Request(tuple(messages))


THIRD_PARTIES = ("RU", "UZ", "MN")


@dataclass
class Context:
    """What the steps of one scenario share: the sealer, ids, the messages sent so far."""

    sealer: Sealer
    run_tag: str
    number: int
    sent: dict[str, Sent] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # e.g. the lock reader command
    replies: list[Reply] = field(default_factory=list)  # of the steps played so far

    @property
    def party(self) -> str:
        return self.sealer.party

    @property
    def peer(self) -> str:
        return self.sealer.peer

    @property
    def third_party(self) -> str:
        """A valid Party code that is neither the kit's nor the peer's."""
        return next(p for p in THIRD_PARTIES if p not in (self.party, self.peer))

    def record_id(self, n: int = 1) -> str:
        return f"{self.party}-CONF-{self.run_tag}-{self.number:02d}-{n}"

    def record(self, n: int = 1, *, revision: int = 1) -> dict[str, Any]:
        """Record ``n`` of this scenario; ``revision`` picks its content."""
        return records.record(self.record_id(n), self.party, self.peer, revision=revision)

    def version(self, version: int, *, n: int = 1, revision: int | None = None) -> Sent:
        """Version ``version`` of record ``n`` (content ``revision``, default the version)."""
        data = self.record(n, revision=revision or version)
        return self.sealer.record(data, version, records.body(data))


Build = Callable[[Context], Request]
Action = Callable[[Context], list[str]]


@dataclass(frozen=True, slots=True)
class Step:
    """One request and the answers it must get, or one ``action`` returning problems."""

    title: str
    send: Build | None = None
    expect: tuple[Expect, ...] = ()
    action: Action | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    number: int
    name: str
    sends: str  # what the kit sends, in one line
    expects: str  # what the spec says comes back, in one line
    steps: tuple[Step, ...]
    needs: str = ""  # an option without which the scenario is skipped (e.g. "lock_reader")
