"""The consent register (Art.6): data received from a Party may be used for a purpose other
than customs control (court, administrative proceedings, a third party) only under that
Party's written consent, registered here with its reference, purpose, scope and validity.

Scope: record-id patterns (``fnmatch``: ``CN-2026-*``), or ``*`` for every record of the
Party. A consent is valid through the end of its ``valid_until`` day (UTC), until revoked.
Every change is audited.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from fnmatch import fnmatchcase

from ctop_node.access.audit_chain import CUSTOMS_CONTROL, AuditChain
from ctop_node.errors import AuditError, StorageError, UsageError
from ctop_node.model.identifiers import check_country
from ctop_node.store.consents import ConsentRow, ConsentStore

CONSENT_PURPOSES = ("court", "administrative", "third_party")
PURPOSES = (CUSTOMS_CONTROL, *CONSENT_PURPOSES)


def check_purpose(purpose: str, *, consent: bool = False) -> str:
    allowed = CONSENT_PURPOSES if consent else PURPOSES
    if purpose not in allowed:
        raise UsageError(f"unknown purpose {purpose!r}: use one of {', '.join(allowed)}")
    return purpose


def parse_scope(text: str) -> tuple[str, ...]:
    patterns = tuple(p.strip() for p in text.split(",") if p.strip())
    if not patterns:
        raise UsageError("--scope names no records: give record-id patterns or *")
    return patterns


def end_of_day(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


def covers(consent: ConsentRow, record_id: str) -> bool:
    return any(fnmatchcase(record_id, p) for p in consent.scope)


def add_consent(
    consents: ConsentStore,
    chain: AuditChain,
    *,
    actor: str,
    origin: str,
    reference: str,
    from_party: str,
    purpose: str,
    scope: Sequence[str],
    valid_until: date,
    now: datetime,
) -> ConsentRow:
    try:
        party = check_country(from_party.upper())
    except ValueError as exc:
        raise UsageError(f"--from-party {from_party!r} is not a Party code (ISO 3166)") from exc
    if not reference.strip() or len(reference) > 128:
        raise UsageError("--reference must be 1 to 128 characters")
    row = ConsentRow(
        reference=reference,
        from_party=party,
        purpose=check_purpose(purpose, consent=True),
        scope=tuple(scope),
        valid_until=end_of_day(valid_until),
        created_at=now,
        created_by=actor,
    )
    try:
        consents.add(row)
    except StorageError as exc:
        if exc.code != "store.integrity":
            raise
        raise AuditError(
            f"consent {reference} is already registered: revoke it and register a new "
            "reference to change it",
            code="consent.exists",
        ) from exc
    chain.record(
        actor,
        "consent.add",
        f"consent:{reference}",
        purpose=purpose,
        origin=origin,
        detail={
            "from_party": row.from_party,
            "scope": list(row.scope),
            "valid_until": row.valid_until.date().isoformat(),
        },
    )
    return row


def revoke_consent(
    consents: ConsentStore,
    chain: AuditChain,
    *,
    actor: str,
    origin: str,
    reference: str,
    now: datetime,
) -> ConsentRow:
    row = consents.revoke(reference, at=now, by=actor)
    chain.record(
        actor, "consent.revoke", f"consent:{reference}", purpose=row.purpose, origin=origin
    )
    return row


def _why_not(c: ConsentRow, party: str, purpose: str, ids: Iterable[str], at: datetime) -> str:
    if c.from_party != party:
        return f"consent {c.reference} was given by {c.from_party}, not {party}"
    if c.purpose != purpose:
        return f"consent {c.reference} is for {c.purpose}, not {purpose}"
    if c.revoked_at is not None:
        return f"consent {c.reference} was revoked on {c.revoked_at.date().isoformat()}"
    if c.valid_until < at:
        return f"consent {c.reference} expired on {c.valid_until.date().isoformat()}"
    outside = [i for i in ids if not covers(c, i)]
    if outside:
        return f"consent {c.reference} does not cover record {outside[0]}"
    return ""


def consent_for(
    register: Sequence[ConsentRow],
    *,
    party: str,
    purpose: str,
    record_ids: Sequence[str],
    at: datetime,
    reference: str | None = None,
) -> ConsentRow:
    """The consent under which ``party``'s records may be used for ``purpose``; raise
    ``AuditError`` (``consent.missing``/``consent.invalid``) saying why none applies."""
    candidates = [c for c in register if reference is None or c.reference == reference]
    if reference is not None and not candidates:
        raise AuditError(f"no consent {reference!r} is registered", code="consent.missing")
    reasons = []
    for c in candidates:
        why = _why_not(c, party, purpose, record_ids, at)
        if not why:
            return c
        reasons.append(why)
    if not reasons:
        raise AuditError(
            f"no consent of {party} for {purpose} is registered: records of {party} may be "
            "used for customs control only",
            code="consent.missing",
        )
    raise AuditError(
        f"no valid consent of {party} for {purpose}: " + "; ".join(reasons),
        code="consent.invalid",
    )
