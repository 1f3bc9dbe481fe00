"""What one pass of the sender did, per peer and in total."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class PeerReport:
    peer: str
    sealed: int = 0
    sent: int = 0
    delivered: int = 0
    rejected: int = 0
    retried: int = 0
    dead: int = 0
    skipped: bool = False  # circuit open: nothing tried
    error: str | None = None  # whole-batch failure


@dataclass
class SendReport:
    at: datetime
    peers: dict[str, PeerReport] = field(default_factory=dict)

    def _sum(self, name: str) -> int:
        return sum(int(getattr(p, name)) for p in self.peers.values())

    @property
    def sent(self) -> int:
        return self._sum("sent")

    @property
    def delivered(self) -> int:
        return self._sum("delivered")

    @property
    def rejected(self) -> int:
        return self._sum("rejected")

    @property
    def retried(self) -> int:
        return self._sum("retried")

    @property
    def dead(self) -> int:
        return self._sum("dead")

    @property
    def busy(self) -> bool:
        """Something was sent or settled: there may be more due at once."""
        return any(p.sent or p.dead for p in self.peers.values())
