"""Art.2 routing and exclusions, Art.6 refusal.

A record goes to every peer Party with an agreement in force that comes *after* the node's own
Party on the record's route (dispatch, transit..., destination): the goods leave our territory
towards it, as destination or as a transit country. Anything else is kept and reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from ctop_node.model.record import Consignment
from ctop_node.model.reference import DEFAULT_AGREEMENTS, Agreement
from ctop_node.rules.outcome import Outcome, OutcomeKind


@dataclass(frozen=True)
class NodePolicy:
    """What a node knows of itself for the rules: its Party and the agreements in force."""

    party: str
    agreements: tuple[Agreement, ...] = field(default=DEFAULT_AGREEMENTS)

    def peers_on(self, day: date) -> frozenset[str]:
        peers: set[str] = set()
        for a in self.agreements:
            if self.party in a.parties and a.in_force(day):
                peers.update(a.parties - {self.party})
        return frozenset(peers)


def _after_own(route: Iterable[str], own: str) -> list[str] | None:
    seq = list(route)
    if own not in seq:
        return None
    first = seq.index(own)
    return seq[first + 1 :]


def decide(record: Consignment, policy: NodePolicy) -> Outcome:
    flags = record.flags
    # Art.6 first: a secret record is refused whatever else is true of it.
    if flags.state_secret:
        return Outcome(
            OutcomeKind.REFUSED,
            "art6.state_secret",
            "flagged as containing state secrets; never exchanged (Art.6)",
        )
    if flags.personal_use:
        return Outcome(
            OutcomeKind.EXCLUDED,
            "art2.personal_use",
            "goods moved by individuals for personal use are not exchanged (Art.2)",
        )
    if flags.postal_item:
        return Outcome(
            OutcomeKind.EXCLUDED,
            "art2.postal_item",
            "international postal items are not exchanged (Art.2)",
        )
    onward = _after_own(record.route.sequence(), policy.party)
    if not onward:
        return Outcome(
            OutcomeKind.NOT_APPLICABLE,
            "art2.not_exported",
            f"goods do not leave {policy.party} territory on this route",
        )
    peers_in_force = policy.peers_on(record.declaration.date)
    peers = tuple(sorted({p for p in onward if p in peers_in_force}))
    if not peers:
        return Outcome(
            OutcomeKind.NOT_APPLICABLE,
            "art2.no_peer_on_route",
            "neither the destination nor any later transit country is a Party "
            f"with an agreement in force with {policy.party}",
        )
    return Outcome(OutcomeKind.TO_SEND, "art2.to_peer", "", peers)


def reaches_after(route: Iterable[str], sender: str, receiver: str) -> bool:
    """Art.2 seen from the receiving side: the goods leave ``sender`` towards ``receiver``
    (the receiver is the destination or a transit country after the sender)."""
    onward = _after_own(route, sender)
    return onward is not None and receiver in onward
