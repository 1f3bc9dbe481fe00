"""Whole requests the peer endpoint must refuse with an HTTP status and a JSON code, a bad
message inside a good batch, and the health route."""

from __future__ import annotations

import cbor2

from ctop_node.conformance import messages, spec
from ctop_node.conformance.judge import receipt, refused, whole
from ctop_node.conformance.scenario import Context, Request, Scenario, Step, batch


def _whole(title: str, request: Request, expect: tuple[int, str]) -> Step:
    return Step(title, lambda ctx: request, (whole(*expect),))


def _truncated_then_valid(ctx: Context) -> Request:
    return batch(messages.truncate(ctx.version(1, n=2)), ctx.version(1))


def _health(ctx: Context) -> list[str]:
    reply = ctx.options["client"].health()
    if reply.http != 200 or reply.problem is None:
        return [f"expected HTTP 200 with a JSON object, got HTTP {reply.http}"]
    problems = []
    if reply.problem.get("party") != ctx.peer:
        problems.append(f"expected party {ctx.peer!r}, got {reply.problem.get('party')!r}")
    versions = reply.problem.get("tc_versions")
    if not isinstance(versions, list) or int(ctx.sealer.tc_version) not in versions:
        problems.append(f"expected tc_versions to list {ctx.sealer.tc_version}, got {versions!r}")
    return problems


_OVER = spec.MAX_BODY + 1
SCENARIOS = (
    Scenario(
        23,
        "oversize_body",
        f"a request body of {_OVER} bytes (one byte string over 16 MiB)",
        f"HTTP {spec.TOO_LARGE[0]} {spec.TOO_LARGE[1]}",
        (
            _whole(
                "a body over 16 MiB",
                Request(body=bytes(cbor2.dumps([b"\x00" * _OVER]))),
                spec.TOO_LARGE,
            ),
        ),
    ),
    Scenario(
        24,
        "too_many_messages",
        f"a CBOR array of {spec.MAX_MESSAGES + 1} (tiny) byte strings",
        f"HTTP {spec.TOO_MANY[0]} {spec.TOO_MANY[1]}",
        (
            _whole(
                "501 messages in one request",
                Request(body=bytes(cbor2.dumps([b"x"] * (spec.MAX_MESSAGES + 1)))),
                spec.TOO_MANY,
            ),
        ),
    ),
    Scenario(
        25,
        "malformed_cbor",
        "a body that is not CBOR (0xff followed by text)",
        f"HTTP {spec.BAD_BATCH[0]} {spec.BAD_BATCH[1]}",
        (_whole("bytes that are not CBOR", Request(body=b"\xffnot cbor"), spec.BAD_BATCH),),
    ),
    Scenario(
        26,
        "not_an_array_of_bytes",
        'well-formed CBOR that is not an array of byte strings ([1, "two"])',
        f"HTTP {spec.BAD_BATCH[0]} {spec.BAD_BATCH[1]}",
        (
            _whole(
                "an array of an integer and a text",
                Request(body=bytes(cbor2.dumps([1, "two"]))),
                spec.BAD_BATCH,
            ),
        ),
    ),
    Scenario(
        27,
        "content_type",
        "a valid batch sent as application/json",
        f"HTTP {spec.CONTENT_TYPE[0]} {spec.CONTENT_TYPE[1]}",
        (
            Step(
                "a batch with the wrong content type",
                lambda ctx: Request(
                    body=bytes(cbor2.dumps([ctx.version(1).raw])), content_type="application/json"
                ),
                (whole(*spec.CONTENT_TYPE),),
            ),
        ),
    ),
    Scenario(
        28,
        "malformed_message_in_batch",
        "one request: a message cut short by 7 bytes, then a valid CONSIGNMENT v1",
        f"answers in order: refused {spec.MALFORMED}, then RECEIPT applied (the rest of the "
        "batch goes on)",
        (
            Step(
                "a truncated message and a valid one",
                _truncated_then_valid,
                (refused(spec.MALFORMED), receipt("applied")),
            ),
        ),
    ),
    Scenario(
        29,
        "health",
        "GET /ctop/v1/health over mutual TLS",
        "HTTP 200, JSON naming the peer's Party and the tc versions it accepts",
        (Step("the health route", action=_health),),
    ),
)
