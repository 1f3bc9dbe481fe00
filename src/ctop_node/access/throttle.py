"""Login throttling per user name and per client address (in memory, injectable clock).

After ``max_failures`` failed logins within ``window`` the key is locked for ``lockout``;
a successful login clears the user's key (not the address's: one address guessing many
users stays throttled).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass
class _Entry:
    failures: list[datetime] = field(default_factory=list)
    locked_until: datetime | None = None


class LoginThrottle:
    def __init__(
        self,
        clock: Callable[[], datetime],
        *,
        max_failures: int = 5,
        window: timedelta = timedelta(minutes=15),
        lockout: timedelta = timedelta(minutes=15),
        max_failures_per_address: int = 20,
    ) -> None:
        self.clock = clock
        self.max_failures = max_failures
        self.max_per_address = max_failures_per_address
        self.window = window
        self.lockout = lockout
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _keys(user: str, address: str) -> tuple[str, str]:
        return f"user:{user.lower()}", f"addr:{address}"

    def blocked_until(self, user: str, address: str) -> datetime | None:
        """When the later of the two locks ends, or None when neither is locked."""
        now = self.clock()
        with self._lock:
            ends = [
                e.locked_until
                for e in (self._entries.get(k) for k in self._keys(user, address))
                if e is not None and e.locked_until is not None and e.locked_until > now
            ]
        return max(ends) if ends else None

    def failed(self, user: str, address: str) -> None:
        now = self.clock()
        user_key, addr_key = self._keys(user, address)
        with self._lock:
            for key, limit in ((user_key, self.max_failures), (addr_key, self.max_per_address)):
                entry = self._entries.setdefault(key, _Entry())
                entry.failures = [t for t in entry.failures if now - t < self.window] + [now]
                if len(entry.failures) >= limit:
                    entry.locked_until = now + self.lockout
                    entry.failures.clear()

    def succeeded(self, user: str) -> None:
        with self._lock:
            self._entries.pop(self._keys(user, "")[0], None)
