"""A clock the tests move forward instead of waiting."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass
class MovableClock:
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now
