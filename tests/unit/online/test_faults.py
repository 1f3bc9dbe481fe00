"""Faults are injected from the test side: no environment variable in src/ can crash a node
(issue 8, finding 15), and the test-side crash hook exits exactly at the n-th committed
batch."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests._faults import CRASH_EXIT_CODE, CrashAfterCommit

SRC = Path(__file__).parents[3] / "src" / "ctop_node"


def _environ_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, key) of every ``os.environ[...]``, ``os.environ.get(...)`` or ``os.getenv(...)``
    with a constant key."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.expr):
            continue
        key: ast.expr | None = None
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            key = node.slice
        elif isinstance(node, ast.Call) and node.args:
            if ast.unparse(node.func) in ("os.environ.get", "os.getenv", "environ.get"):
                key = node.args[0]
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            found.append((node.lineno, key.value))
    return found


def test_no_fault_switch_in_src() -> None:
    files = sorted(SRC.rglob("*.py"))
    reads = {
        f"{p.relative_to(SRC)}:{line}": key
        for p in files
        for line, key in _environ_reads(ast.parse(p.read_text("utf-8")))
    }
    assert any(key == "CTOP_HOME" for key in reads.values()), reads  # the scan sees reads
    assert [k for k, key in reads.items() if key.startswith("CTOP_FAULT")] == []
    # Nor by any other spelling: no file of src/ names the variable or ends the process.
    assert [p for p in files if "CTOP_FAULT" in p.read_text("utf-8")] == []
    assert [p for p in files if "os._exit" in p.read_text("utf-8")] == []


@pytest.mark.parametrize("n", [0, -1])
def test_bad_batch_numbers_are_refused(n: int) -> None:
    with pytest.raises(ValueError):
        CrashAfterCommit(n)


def test_exits_at_the_nth_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    exits: list[int] = []
    monkeypatch.setattr("os._exit", exits.append)
    hook = CrashAfterCommit(3)
    for _ in range(2):
        hook.batch_committed()
    assert exits == []
    hook.batch_committed()
    assert exits == [CRASH_EXIT_CODE]
    hook.batch_committed()
    assert exits == [CRASH_EXIT_CODE]
