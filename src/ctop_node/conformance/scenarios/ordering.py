"""Delivery: at-least-once on the wire, exactly once at the receiver, versions in order."""

from __future__ import annotations

from ctop_node.conformance import records, spec
from ctop_node.conformance.judge import receipt, rejection
from ctop_node.conformance.scenario import Context, Request, Scenario, Step, batch


def _named(name: str, version: int) -> Step:
    def send(ctx: Context) -> Request:
        ctx.sent[name] = ctx.version(version)
        return batch(ctx.sent[name])

    return Step(f"v{version} of record 1", send, (receipt("applied"),))


def _replay(ctx: Context) -> Request:
    return batch(ctx.sent["v1"])


def _same_answer(ctx: Context) -> list[str]:
    first, again = (r.items[0]["answer"] if r.items else None for r in ctx.replies[-2:])
    if first != again:
        return ["a replay must be answered with the stored original answer, got other bytes"]
    return []


def _other_content_as_v1(ctx: Context) -> Request:
    data = ctx.record(revision=9)
    return batch(ctx.sealer.record(data, 1, records.body(data)))


def _v2_under_v1_id(ctx: Context) -> Request:
    data = ctx.record(revision=2)
    return batch(
        ctx.sealer.record(data, 2, records.body(data), message_id=ctx.sent["v1"].message_id)
    )


def _batch_of(*versions: int, n: int = 1) -> Step:
    def send(ctx: Context) -> Request:
        return batch(*(ctx.version(v, n=n) for v in versions))

    # Each version is judged when it is handled: one whose base is missing waits.
    seen: set[int] = set()
    expects = []
    for v in versions:
        expects.append(receipt("applied" if v == 1 or v - 1 in seen else "waiting"))
        seen.add(v)
    order = ", ".join(f"v{v}" for v in versions)
    return Step(f"{order} of record {n} in one request", send, tuple(expects))


SCENARIOS = (
    Scenario(
        7,
        "same_version_new_id",
        "CONSIGNMENT v1, then the same content as v1 again under a new message id",
        "two RECEIPTs; the second has status duplicate (stored once)",
        (
            _named("v1", 1),
            Step(
                "v1 again under a new id",
                lambda ctx: batch(ctx.version(1)),
                (receipt("duplicate"),),
            ),
        ),
    ),
    Scenario(
        8,
        "out_of_order",
        "AMENDMENT v2 before its base, then CONSIGNMENT v1",
        "RECEIPT status waiting for v2, then RECEIPT status applied for v1",
        (
            Step("v2 before v1", lambda ctx: batch(ctx.version(2)), (receipt("waiting"),)),
            Step("v1, the base", lambda ctx: batch(ctx.version(1)), (receipt("applied"),)),
        ),
    ),
    Scenario(
        9,
        "version_conflict",
        "CONSIGNMENT v1, then another content also numbered v1 under a new message id",
        f"REJECTION {spec.OUT_OF_SEQUENCE} at header.version",
        (
            _named("v1", 1),
            Step(
                "another content as v1",
                _other_content_as_v1,
                (rejection(spec.OUT_OF_SEQUENCE, "header.version"),),
            ),
        ),
    ),
    Scenario(
        10,
        "replay",
        "CONSIGNMENT v1, then exactly the same bytes again",
        "the same RECEIPT again, byte for byte (the stored answer), naming the same digest",
        (
            _named("v1", 1),
            Step("the same bytes again", _replay, (receipt("applied"),)),
            Step("compare the two answers", action=_same_answer),
        ),
    ),
    Scenario(
        11,
        "duplicate_message_id",
        "CONSIGNMENT v1, then AMENDMENT v2 under the message id of v1 (same id, other bytes)",
        f"REJECTION {spec.DUPLICATE_ID} at header.message_id",
        (
            _named("v1", 1),
            Step(
                "v2 under v1's message id",
                _v2_under_v1_id,
                (rejection(spec.DUPLICATE_ID, "header.message_id"),),
            ),
        ),
    ),
    Scenario(
        12,
        "batch_order",
        "one request with v2 then v1 of a record",
        "answers in request order: RECEIPT waiting for v2, RECEIPT applied for v1",
        (_batch_of(2, 1),),
    ),
)
