"""The consent register's table: a consent is added once and may be revoked; never deleted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from ctop_node.errors import StorageError
from ctop_node.store._errors import translated
from ctop_node.store.schema import consents


@dataclass(frozen=True, slots=True)
class ConsentRow:
    reference: str
    from_party: str
    purpose: str
    scope: tuple[str, ...]
    valid_until: datetime
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    revoked_by: str | None = None


class ConsentStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, row: ConsentRow) -> None:
        """Register a consent; a reference already registered is ``store.integrity``."""
        with translated(f"register consent {row.reference}"), self.engine.begin() as conn:
            conn.execute(
                insert(consents).values(
                    reference=row.reference,
                    from_party=row.from_party,
                    purpose=row.purpose,
                    scope=orjson.dumps(list(row.scope)).decode(),
                    valid_until=row.valid_until,
                    created_at=row.created_at,
                    created_by=row.created_by,
                )
            )

    def revoke(self, reference: str, *, at: datetime, by: str) -> ConsentRow:
        """Mark a consent revoked; ``store.consent_unknown`` if there is none, and a consent
        already revoked keeps its first revocation."""
        with translated(f"revoke consent {reference}"), self.engine.begin() as conn:
            done = conn.execute(
                update(consents)
                .where(consents.c.reference == reference, consents.c.revoked_at.is_(None))
                .values(revoked_at=at, revoked_by=by)
            )
        found = self.get(reference)
        if found is None:
            raise StorageError(
                f"no consent {reference!r} is registered", code="store.consent_unknown"
            )
        if done.rowcount == 0:
            raise StorageError(
                f"consent {reference!r} was already revoked", code="store.consent_revoked"
            )
        return found

    def get(self, reference: str) -> ConsentRow | None:
        rows = self._select(reference)
        return rows[0] if rows else None

    def all(self) -> list[ConsentRow]:
        return self._select(None)

    def _select(self, reference: str | None) -> list[ConsentRow]:
        stmt = select(consents).order_by(consents.c.id)
        if reference is not None:
            stmt = stmt.where(consents.c.reference == reference)
        with translated("read the consent register"), self.engine.connect() as conn:
            return [
                ConsentRow(
                    reference=r.reference,
                    from_party=r.from_party,
                    purpose=r.purpose,
                    scope=tuple(orjson.loads(r.scope)),
                    valid_until=r.valid_until,
                    created_at=r.created_at,
                    created_by=r.created_by,
                    revoked_at=r.revoked_at,
                    revoked_by=r.revoked_by,
                )
                for r in conn.execute(stmt)
            ]
