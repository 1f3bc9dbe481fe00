"""Every scenario of the kit, by number. Each module holds one concern; numbers are stable
(docs/conformance.md lists them) and never reused."""

from __future__ import annotations

from ctop_node.conformance.scenario import Scenario
from ctop_node.conformance.scenarios import lifecycle, lock, ordering, rules, security, wire

ALL: tuple[Scenario, ...] = tuple(
    sorted(
        (
            *lifecycle.SCENARIOS,
            *ordering.SCENARIOS,
            *security.SCENARIOS,
            *wire.SCENARIOS,
            *rules.SCENARIOS,
            *lock.SCENARIOS,
        ),
        key=lambda s: s.number,
    )
)
BY_NUMBER: dict[int, Scenario] = {s.number: s for s in ALL}
BY_NAME: dict[str, Scenario] = {s.name: s for s in ALL}


def select(wanted: list[str] | None) -> list[Scenario]:
    """Scenarios by number or name (all when ``wanted`` is empty); ``KeyError`` names an
    unknown one."""
    if not wanted:
        return list(ALL)
    chosen = []
    for w in wanted:
        scenario = BY_NUMBER.get(int(w)) if w.isdigit() else BY_NAME.get(w)
        if scenario is None:
            raise KeyError(w)
        chosen.append(scenario)
    return chosen


def markdown_table() -> str:
    """The scenario table of docs/conformance.md (a test keeps the two equal)."""
    lines = ["| # | Scenario | The kit sends | The spec says comes back |", "|---|---|---|---|"]
    for s in ALL:
        needs = f" (needs `--{s.needs.replace('_', '-')}`)" if s.needs else ""
        lines.append(f"| {s.number} | `{s.name}`{needs} | {s.sends} | {s.expects} |")
    return "\n".join(lines) + "\n"
