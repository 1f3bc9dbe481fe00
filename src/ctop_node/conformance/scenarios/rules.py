"""Authenticated messages that break a rule: a signed REJECTION naming the code and field."""

from __future__ import annotations

from datetime import timedelta

from ctop_node.conformance import records, spec
from ctop_node.conformance.judge import rejection
from ctop_node.conformance.scenario import Build, Context, Request, Scenario, Step, batch
from ctop_node.model.canonical import canonical_bytes
from ctop_node.model.messages import MessageType

SKEW = timedelta(seconds=spec.SKEW_BEYOND_S)


def _v1(ctx: Context, **options: object) -> Request:
    data = ctx.record()
    return batch(ctx.sealer.record(data, 1, records.body(data), **options))


def _raw_v1(ctx: Context, data: dict[str, object]) -> Request:
    return batch(ctx.sealer.record(ctx.record(), 1, records.raw_body(data)))


def _receipt_as_message(ctx: Context) -> Request:
    payload = canonical_bytes(
        {
            "message_id": "00000000-0000-4000-8000-000000000000",
            "message_digest": "0" * 64,
            "stored_at": "2026-01-01T00:00:00+00:00",
        }
    )
    return batch(ctx.sealer.seal(MessageType.RECEIPT, payload))


def _rule(
    number: int, name: str, sends: str, code: str, field: str | None, build: Build
) -> Scenario:
    where = f" at {field}" if field else ""
    return Scenario(
        number,
        name,
        sends,
        f"REJECTION {code}{where}, signed by the peer",
        (Step(sends, build, (rejection(code, field),)),),
    )


SCENARIOS = (
    _rule(
        30,
        "unknown_tc_version",
        "CONSIGNMENT v1 under technical-conditions version 99, which no agreement names",
        spec.UNKNOWN_TC,
        "header.tc_version",
        lambda ctx: _v1(ctx, tc_version="99"),
    ),
    _rule(
        31,
        "clock_skew_future",
        f"CONSIGNMENT v1 whose created_at is {spec.SKEW_BEYOND_S // 60} min in the future",
        spec.CLOCK_SKEW,
        "header.created_at",
        lambda ctx: _v1(ctx, skew=SKEW),
    ),
    _rule(
        32,
        "clock_skew_past",
        f"CONSIGNMENT v1 whose created_at is {spec.SKEW_BEYOND_S // 60} min in the past "
        "(signed with the backdated certificate, valid at that time)",
        spec.CLOCK_SKEW,
        "header.created_at",
        lambda ctx: _v1(ctx, skew=-SKEW, signer="backdated"),
    ),
    _rule(
        33,
        "container_check_digit",
        "CONSIGNMENT v1 whose container number has a wrong ISO 6346 check digit",
        spec.CHECK_DIGIT,
        None,
        lambda ctx: _raw_v1(ctx, records.with_bad_check_digit(ctx.record())),
    ),
    _rule(
        34,
        "wrong_route",
        "CONSIGNMENT v1 whose route ends in a third country (e.g. RU) and never reaches the peer",
        spec.WRONG_ROUTE,
        "$.route",
        lambda ctx: _raw_v1(ctx, records.with_route(ctx.record(), ctx.third_party)),
    ),
    _rule(
        35,
        "receipt_as_message",
        "a RECEIPT posted as a message (answers travel in the HTTP response only)",
        spec.UNEXPECTED_TYPE,
        "header.type",
        _receipt_as_message,
    ),
)
