"""Messages that must not be authenticated: refused, nothing stored, no signed answer."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from ctop_node.conformance import messages, records, spec
from ctop_node.conformance.judge import receipt, refused
from ctop_node.conformance.messages import Sent
from ctop_node.conformance.scenario import Context, Scenario, Step, batch


def _v1(ctx: Context, **options: object) -> Sent:
    data = ctx.record()
    return ctx.sealer.record(data, 1, records.body(data), **options)


def _refused(title: str, code: str, build: Callable[[Context], Sent]) -> Step:
    return Step(title, lambda ctx: batch(build(ctx)), (refused(code),))


def _then_valid() -> Step:
    """The same record, sent properly afterwards, must be applied: the refusal stored nothing."""
    return Step(
        "the same record v1, properly sealed",
        lambda ctx: batch(ctx.version(1)),
        (receipt("applied"),),
    )


def _security(
    number: int, name: str, sends: str, code: str, build: Callable[[Context], Sent]
) -> Scenario:
    return Scenario(
        number,
        name,
        sends,
        f"refused {code} with no signed answer; the record, sent properly next, is applied "
        "(nothing was stored)",
        (_refused(sends, code, build), _then_valid()),
    )


SCENARIOS = (
    _security(
        13,
        "tampered_payload",
        "CONSIGNMENT v1 with one bit of the encrypted payload flipped after signing",
        spec.BAD_SIGNATURE,
        lambda ctx: messages.tamper_payload(_v1(ctx)),
    ),
    _security(
        14,
        "tampered_header",
        "CONSIGNMENT v1 whose header record_id was changed after signing",
        spec.BAD_SIGNATURE,
        lambda ctx: messages.tamper_header(_v1(ctx), {"record_id": ctx.record_id(2)}),
    ),
    _security(
        15,
        "header_changed_and_resigned",
        "CONSIGNMENT v1 given a correlation_id in its header after encryption and signed "
        "again by the kit (the HPKE info no longer matches the header)",
        spec.DECRYPT,
        lambda ctx: ctx.sealer.resigned(_v1(ctx), {"correlation_id": str(uuid.uuid4())}),
    ),
    _security(
        16,
        "forged_signature",
        "CONSIGNMENT v1 with its signature replaced by random bytes",
        spec.BAD_SIGNATURE,
        lambda ctx: messages.forge_signature(_v1(ctx)),
    ),
    _security(
        17,
        "unknown_key",
        "CONSIGNMENT v1 signed by a CA of the kit's Party that the peer never imported",
        spec.UNKNOWN_KEY,
        lambda ctx: _v1(ctx, signer="impostor"),
    ),
    _security(
        18,
        "wrong_recipient",
        "CONSIGNMENT v1 whose signed header names a third Party (e.g. RU) as recipient",
        spec.WRONG_RECIPIENT,
        lambda ctx: ctx.sealer.resigned(_v1(ctx), {"recipient": ctx.third_party}),
    ),
    _security(
        19,
        "expired_certificate",
        "CONSIGNMENT v1 signed with a kit certificate that expired an hour before prepare",
        spec.CERT_EXPIRED,
        lambda ctx: _v1(ctx, signer="expired"),
    ),
    _security(
        20,
        "revoked_certificate",
        "CONSIGNMENT v1 signed with a kit certificate on the kit CA's revocation list",
        spec.CERT_REVOKED,
        lambda ctx: _v1(ctx, signer="revoked"),
    ),
    _security(
        21,
        "sender_not_signer",
        "CONSIGNMENT v1 whose signed header names a third Party (e.g. RU) as sender",
        spec.SENDER_MISMATCH,
        lambda ctx: ctx.sealer.resigned(_v1(ctx), {"sender": ctx.third_party}),
    ),
    _security(
        22,
        "plaintext",
        "CONSIGNMENT v1 signed but not encrypted (enc = none)",
        spec.PLAINTEXT,
        lambda ctx: _v1(ctx, plaintext=True),
    ),
    _security(
        39,
        "encrypted_to_wrong_key",
        "CONSIGNMENT v1 encrypted to a key that is not the peer's encryption key (rkid names "
        "the kit's own), correctly signed",
        spec.DECRYPT,
        lambda ctx: _v1(ctx, wrong_key=True),
    ),
)
