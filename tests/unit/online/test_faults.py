"""The test-only crash hook of the peer endpoint: off by default, strict about its value,
and it exits exactly at the n-th committed batch."""

from __future__ import annotations

import pytest

from ctop_node.errors import ConfigError
from ctop_node.online._faults import CRASH_AFTER_COMMIT, CRASH_EXIT_CODE, CrashAfterCommit


def test_off_unless_set() -> None:
    assert CrashAfterCommit.from_env({}).n is None
    assert CrashAfterCommit.from_env({CRASH_AFTER_COMMIT: " "}).n is None
    CrashAfterCommit.from_env({}).batch_committed()  # no exit


@pytest.mark.parametrize("raw", ["0", "-1", "two", "1.5"])
def test_bad_values_are_refused(raw: str) -> None:
    with pytest.raises(ConfigError) as info:
        CrashAfterCommit.from_env({CRASH_AFTER_COMMIT: raw})
    assert info.value.code == "config.fault_hook"


def test_exits_at_the_nth_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    exits: list[int] = []
    monkeypatch.setattr("os._exit", exits.append)
    hook = CrashAfterCommit.from_env({CRASH_AFTER_COMMIT: "3"})
    for _ in range(2):
        hook.batch_committed()
    assert exits == []
    hook.batch_committed()
    assert exits == [CRASH_EXIT_CODE]
    hook.batch_committed()
    assert exits == [CRASH_EXIT_CODE]
