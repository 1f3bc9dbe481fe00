"""Retry timing of the sender: exponential backoff with jitter, and the per-peer circuit policy.

Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): the delay of retry n
is uniform in ``[0, min(max, base * factor ** (n - 1))]``, so that many entries failing
together do not come back together. The random source is injectable for tests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from ctop_node.errors import ConfigError

Jitter = Literal["full", "equal", "none"]


@dataclass(frozen=True, slots=True)
class Backoff:
    base: float = 0.5
    factor: float = 2.0
    max: float = 60.0
    jitter: Jitter = "full"

    def __post_init__(self) -> None:
        if self.base <= 0 or self.factor < 1 or self.max < self.base:
            raise ConfigError(
                f"bad backoff: base={self.base} factor={self.factor} max={self.max}",
                code="config.backoff",
            )

    def ceiling(self, attempt: int) -> float:
        """The un-jittered delay (seconds) before retry number ``attempt`` (1 = first)."""
        exponent = min(max(attempt, 1) - 1, 64)  # no float overflow for very long outages
        return float(min(self.max, self.base * self.factor**exponent))

    def delay(self, attempt: int, rng: random.Random) -> timedelta:
        top = self.ceiling(attempt)
        if self.jitter == "full":
            seconds = rng.uniform(0.0, top)
        elif self.jitter == "equal":
            seconds = top / 2 + rng.uniform(0.0, top / 2)
        else:
            seconds = top
        return timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class CircuitPolicy:
    """Open the circuit to a peer after ``failures_to_open`` consecutive whole-batch
    failures; while open nothing is sent to it; after ``open_for`` one trial batch goes
    (half-open): success closes it, failure opens it again."""

    failures_to_open: int = 3
    open_for: timedelta = timedelta(seconds=10)

    def __post_init__(self) -> None:
        if self.failures_to_open < 1 or self.open_for <= timedelta(0):
            raise ConfigError("bad circuit policy", code="config.circuit")
