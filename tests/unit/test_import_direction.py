"""Which way imports go (docs: DESIGN "Which way imports go"), read from the AST of src/:
layers import downwards only, only the store knows tables and SQLAlchemy, the store does not
import the rules, and the two channels meet in exchange/ (neither knows the other, neither
feeds the inbox itself)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src" / "ctop_node"

# Rank of each top-level package or module; an import must go to a lower rank (entry points,
# the top rank, may also import each other).
RANKS: dict[str, int] = {
    "errors": 0,
    "i18n": 1,
    "files": 1,
    "model": 1,
    "tc": 2,
    "rules": 3,
    "crypto": 3,
    "store": 3,
    "config": 4,  # above store: a node's configuration names its at-rest key to the store
    "sample": 3,
    "exchange": 4,
    "ingest": 5,
    "online": 5,
    "lock": 5,
    "control": 5,
    "access": 5,
    "reports": 5,
    "cli": 6,
    "conformance": 6,
    "web": 6,
    "server": 6,
    "localnet": 6,
    "__main__": 6,
}
TOP = max(RANKS.values())
# Modules only store/ may import.
STORE_PRIVATE = ("sqlalchemy", "alembic", "ctop_node.store.schema", "ctop_node.store._")


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``."""
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing module's package
                base = package[: len(package) - node.level + 1]
                yield node.lineno, ".".join([*base, *([node.module] if node.module else [])])
            elif node.module:
                yield node.lineno, node.module


def _unit(path: Path) -> str:
    """The top-level package (or module) of ctop_node that ``path`` belongs to."""
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


MODULES = sorted(p for p in SRC.rglob("*.py") if p.name != "__init__.py" or p.parent != SRC)


def _all_imports() -> list[tuple[str, str, int, str]]:
    """(unit, file, line, imported module) for every import in src/."""
    return [
        (_unit(p), str(p.relative_to(SRC)), line, name)
        for p in MODULES
        for line, name in _imports(p)
    ]


IMPORTS = _all_imports()


def test_the_scan_sees_the_code() -> None:
    # A scan that found nothing would make every rule below pass.
    assert len(MODULES) > 50
    assert ("exchange", "exchange/receive.py") in {(u, f) for u, f, _, _ in IMPORTS}
    assert any(n == "sqlalchemy" or n.startswith("sqlalchemy.") for *_, n in IMPORTS)


def test_every_unit_has_a_rank() -> None:
    assert sorted({u for u, *_ in IMPORTS} - RANKS.keys()) == []


def test_layers_import_downwards_only() -> None:
    wrong = []
    for unit, file, line, name in IMPORTS:
        if not name.startswith("ctop_node."):
            continue
        target = name.split(".")[1]
        if target == unit:
            continue
        if RANKS[target] >= RANKS[unit] and not RANKS[unit] == RANKS[target] == TOP:
            wrong.append(f"{file}:{line} imports {name}")
    assert wrong == []


def _matches(name: str, private: str) -> bool:
    if private.endswith("_"):  # a prefix: every private module of the store
        return name.startswith(private)
    return name == private or name.startswith(private + ".")


@pytest.mark.parametrize("private", STORE_PRIVATE)
def test_only_the_store_knows_tables_and_sql(private: str) -> None:
    wrong = [
        f"{file}:{line} imports {name}"
        for unit, file, line, name in IMPORTS
        if unit != "store" and _matches(name, private)
    ]
    assert wrong == []


def test_the_store_does_not_import_the_rules() -> None:
    wrong = [
        f"{file}:{line} imports {name}"
        for unit, file, line, name in IMPORTS
        if unit == "store" and name.startswith("ctop_node.rules")
    ]
    assert wrong == []


def test_the_channels_meet_only_in_exchange() -> None:
    """online/ and lock/ do not know each other, and neither feeds the inbox itself: the
    inbox's row type is built by exchange/receive.py alone."""
    wrong = [
        f"{file}:{line} imports {name}"
        for unit, file, line, name in IMPORTS
        if (unit, name.split(".")[1] if name.startswith("ctop_node.") else "")
        in {("online", "lock"), ("lock", "online")}
        or (unit in ("online", "lock") and name == "ctop_node.store.inbox")
    ]
    assert wrong == []
    feeders = {file for _, file, _, name in IMPORTS if name == "ctop_node.store.inbox"}
    assert feeders <= {"exchange/receive.py", "store/_channel_sql.py"}, feeders
