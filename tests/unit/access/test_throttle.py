"""Login throttling per user and per address, on an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ctop_node.access.throttle import LoginThrottle
from tests.unit.web._ui import Clock


def test_user_locked_after_failures_within_the_window_then_free_again() -> None:
    clock = Clock()
    t = LoginThrottle(clock, max_failures=3, window=timedelta(minutes=10))
    t.failed("olga", "10.0.0.1")
    t.failed("OLGA", "10.0.0.2")
    assert t.blocked_until("olga", "10.0.0.3") is None
    t.failed("olga", "10.0.0.4")
    assert t.blocked_until("olga", "10.0.0.9") == clock.now + timedelta(minutes=15)
    assert t.blocked_until("sam", "10.0.0.9") is None
    clock.advance(minutes=15, seconds=1)
    assert t.blocked_until("olga", "10.0.0.1") is None


def test_failures_outside_the_window_do_not_add_up() -> None:
    clock = Clock()
    t = LoginThrottle(clock, max_failures=3, window=timedelta(minutes=10))
    for _ in range(5):
        t.failed("olga", "a")
        clock.advance(minutes=6)
    assert t.blocked_until("olga", "b") is None


def test_an_address_is_locked_for_every_user() -> None:
    clock = Clock(datetime(2026, 1, 1, tzinfo=UTC))
    t = LoginThrottle(clock, max_failures=100, max_failures_per_address=4)
    for i in range(4):
        t.failed(f"user{i}", "10.9.9.9")
    assert t.blocked_until("anyone", "10.9.9.9") is not None
    assert t.blocked_until("anyone", "10.9.9.8") is None


def test_success_clears_the_user_not_the_address() -> None:
    clock = Clock()
    t = LoginThrottle(clock, max_failures=2, max_failures_per_address=3)
    t.failed("olga", "x")
    t.succeeded("olga")
    t.failed("olga", "x")
    assert t.blocked_until("olga", "y") is None
    t.failed("sam", "x")
    assert t.blocked_until("zed", "x") is not None
