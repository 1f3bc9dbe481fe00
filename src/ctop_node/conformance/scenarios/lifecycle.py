"""A record's life: first version, amendment, cancellation, what a cancellation forbids, and
the signed manifest that lists it (Art.5)."""

from __future__ import annotations

from ctop_node.conformance import records, spec
from ctop_node.conformance.judge import receipt, rejection
from ctop_node.conformance.scenario import Context, Request, Scenario, Step, batch


def _v(version: int, n: int = 1) -> Step:
    def send(ctx: Context) -> Request:
        return batch(ctx.version(version, n=n))

    kind = "CONSIGNMENT" if version == 1 else "AMENDMENT"
    return Step(f"{kind} v{version} of record {n}", send, (receipt("applied"),))


def _cancel(version: int, expect: tuple[str, str | None] | None = None, n: int = 1) -> Step:
    def send(ctx: Context) -> Request:
        return batch(ctx.sealer.cancellation(ctx.record_id(n), version))

    answer = receipt("applied") if expect is None else rejection(*expect)
    return Step(f"CANCELLATION of v{version} of record {n}", send, (answer,))


def _manifest(flip: bool) -> Step:
    def send(ctx: Context) -> Request:
        data = ctx.record(1)
        return batch(ctx.sealer.manifest([ctx.record_id(1)], records.body(data), flip=flip))

    if flip:
        what, answer = (
            "MANIFEST with a flipped byte in the signed manifest",
            rejection(spec.MANIFEST, "$.manifest"),
        )
    else:
        what, answer = "MANIFEST of today listing record 1", receipt("applied")
    return Step(what, send, (answer,))


SCENARIOS = (
    Scenario(
        1,
        "consignment",
        "a valid CONSIGNMENT v1, encrypted to the peer and signed by the kit's node key",
        "RECEIPT signed by the peer, naming our message id and digest, status applied",
        (_v(1),),
    ),
    Scenario(
        2,
        "amendment",
        "CONSIGNMENT v1, then AMENDMENT v2 with another content",
        "two RECEIPTs, status applied",
        (_v(1), _v(2)),
    ),
    Scenario(
        3,
        "cancellation",
        "CONSIGNMENT v1, then a CANCELLATION naming v1 in header and payload",
        "two RECEIPTs, status applied",
        (_v(1), _cancel(1)),
    ),
    Scenario(
        4,
        "amendment_after_cancellation",
        "CONSIGNMENT v1, CANCELLATION of v1, then AMENDMENT v2",
        f"the AMENDMENT is refused with REJECTION {spec.CANCELLED} at header.version, "
        "not a silent revival",
        (
            _v(1),
            _cancel(1),
            Step(
                "AMENDMENT v2 of the cancelled record 1",
                lambda ctx: batch(ctx.version(2)),
                (rejection(spec.CANCELLED, "header.version"),),
            ),
        ),
    ),
    Scenario(
        5,
        "cancel_unknown_record",
        "a CANCELLATION of a record the peer never received",
        f"REJECTION {spec.UNKNOWN_RECORD} at $.record_id",
        (_cancel(1, (spec.UNKNOWN_RECORD, "$.record_id")),),
    ),
    Scenario(
        6,
        "cancel_unreceived_version",
        "CONSIGNMENT v1, then a CANCELLATION naming v2, which was never sent",
        f"REJECTION {spec.CANCEL_UNRECEIVED} at header.version",
        (_v(1), _cancel(2, (spec.CANCEL_UNRECEIVED, "header.version"))),
    ),
    Scenario(
        37,
        "cancellation_twice",
        "CONSIGNMENT v1, CANCELLATION of v1, then the same cancellation under a new message id",
        "RECEIPTs: applied, applied, then duplicate (nothing changes)",
        (
            _v(1),
            _cancel(1),
            Step(
                "CANCELLATION of v1 again, new message id",
                lambda ctx: batch(ctx.sealer.cancellation(ctx.record_id(), 1)),
                (receipt("duplicate"),),
            ),
        ),
    ),
    Scenario(
        38,
        "cancellation_versions_differ",
        "CONSIGNMENT v1, then a CANCELLATION whose header names v1 and whose payload names v2",
        f"REJECTION {spec.HEADER} at header.version",
        (
            _v(1),
            Step(
                "CANCELLATION: header v1, payload v2",
                lambda ctx: batch(ctx.sealer.cancellation(ctx.record_id(), 1, payload_version=2)),
                (rejection(spec.HEADER, "header.version"),),
            ),
        ),
    ),
    Scenario(
        40,
        "manifest",
        "CONSIGNMENT v1, then a MANIFEST carrying the kit's signed manifest of today that "
        "lists it (Art.5)",
        "two RECEIPTs, status applied: the peer checked the inner signature and keeps the "
        "manifest for reconciliation",
        (_v(1), _manifest(flip=False)),
    ),
    Scenario(
        41,
        "manifest_tampered",
        "a MANIFEST, sealed and signed correctly, whose inner signed manifest has one byte flipped",
        f"REJECTION {spec.MANIFEST} at $.manifest: the manifest is not stored",
        (_manifest(flip=True),),
    ),
)
