"""Plays scenarios against a peer node and collects what conformed and what did not.

A scenario stops at its first failing step (later steps build on it); a transport failure
fails the step with what the client saw. A scenario whose ``needs`` option is not given is
skipped, and reported as such, never counted as passed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ctop_node.conformance.client import PeerClient, Reply
from ctop_node.conformance.judge import Judge
from ctop_node.conformance.kit import KitHome
from ctop_node.conformance.messages import Sealer
from ctop_node.conformance.scenario import Context, Scenario, Step
from ctop_node.errors import CtopError


@dataclass
class Failure:
    step: int
    title: str
    expected: str
    got: str
    problems: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "title": self.title,
            "expected": self.expected,
            "got": self.got,
            "problems": self.problems,
        }


@dataclass
class Outcome:
    scenario: Scenario
    status: str  # passed | failed | skipped
    failure: Failure | None = None
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def as_dict(self) -> dict[str, Any]:
        s = self.scenario
        return {
            "number": s.number,
            "name": s.name,
            "status": self.status,
            "passed": self.passed,
            "sends": s.sends,
            "expects": s.expects,
            "failure": self.failure.as_dict() if self.failure else None,
            "note": self.note,
        }


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.count("passed"),
            "failed": self.count("failed"),
            "skipped": self.count("skipped"),
            "scenarios": [o.as_dict() for o in self.outcomes],
        }


def _got(reply: Reply) -> str:
    if reply.items is None:
        code = (reply.problem or {}).get("code", "")
        return f"HTTP {reply.http} {code}".strip()
    parts = []
    for item in reply.items:
        if isinstance(item, dict):
            parts.append(" ".join(str(item.get(k) or "") for k in ("status", "code")).strip())
        else:
            parts.append(repr(item)[:80])
    return f"HTTP {reply.http}: " + "; ".join(parts)


class Runner:
    """Plays scenarios as the kit's Party against the peer node at ``url``."""

    def __init__(
        self,
        kit: KitHome,
        url: str,
        *,
        peer: str | None = None,
        options: dict[str, Any] | None = None,
        run_tag: str | None = None,
    ) -> None:
        self.kit = kit.check()
        self.party = kit.party
        self.peer = kit.peer_party(peer)
        self.url = url
        self.options = {k: v for k, v in (options or {}).items() if v}
        self.run_tag = run_tag or uuid.uuid4().hex[:8].upper()
        self.judge = Judge(kit, self.party, self.peer)

    def run(
        self,
        scenarios: Iterable[Scenario],
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> Report:
        report = Report()
        with PeerClient(self.kit, self.peer, self.url) as client:
            for scenario in scenarios:
                outcome = self.play(scenario, client)
                report.outcomes.append(outcome)
                if on_outcome is not None:
                    on_outcome(outcome)
        return report

    def play(self, scenario: Scenario, client: PeerClient) -> Outcome:
        if scenario.needs and scenario.needs not in self.options:
            note = f"needs --{scenario.needs.replace('_', '-')}"
            return Outcome(scenario, "skipped", note=note)
        ctx = Context(
            Sealer(self.kit, self.party, self.peer),
            self.run_tag,
            scenario.number,
            options={**self.options, "client": client},
        )
        for n, step in enumerate(scenario.steps, 1):
            failure = self._step(n, step, ctx, client)
            if failure is not None:
                return Outcome(scenario, "failed", failure)
        return Outcome(scenario, "passed")

    def _step(self, n: int, step: Step, ctx: Context, client: PeerClient) -> Failure | None:
        expected = ", ".join(e.describe() for e in step.expect) or step.title
        try:
            if step.action is not None:
                problems = step.action(ctx)
                got = "; ".join(problems) if problems else "as expected"
            else:
                assert step.send is not None
                request = step.send(ctx)
                reply = client.post(request.wire(), content_type=request.content_type)
                ctx.replies.append(reply)
                got = _got(reply)
                problems = self.judge.reply(reply, list(request.messages), list(step.expect))
        except CtopError as exc:
            problems = [f"{exc.code}: {exc.message}"]
            got = problems[0]
        if problems:
            return Failure(n, step.title, expected, got, problems)
        return None
