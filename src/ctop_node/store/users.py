"""Users of the officers' UI and read API, their API tokens and web sessions (tables only).

What a role may do, how passwords are hashed and when a session expires are decided in
``ctop_node.access``; this module stores and finds rows. Secrets are never stored: tokens and
session ids are kept as their SHA-256, passwords as the argon2 hash ``access`` hands in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from ctop_node.errors import StorageError
from ctop_node.store._errors import translated
from ctop_node.store.schema import ROLES, user_tokens, users, web_sessions


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    name: str
    role: str
    password_hash: str | None
    language: str | None
    disabled: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SessionRow:
    user: UserRow
    csrf: str
    created_at: datetime
    last_seen_at: datetime


def _user(r: Any) -> UserRow:
    return UserRow(
        id=int(r.id),
        name=r.name,
        role=r.role,
        password_hash=r.password_hash,
        language=r.language,
        disabled=bool(r.disabled),
        created_at=r.created_at,
    )


_USER_COLUMNS = (
    users.c.id,
    users.c.name,
    users.c.role,
    users.c.password_hash,
    users.c.language,
    users.c.disabled,
    users.c.created_at,
)


class UserStore:
    """Rows of ``users``, ``user_tokens`` and ``web_sessions`` on the node's engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- users ----------------------------------------------------------------------------

    def add(self, name: str, role: str, password_hash: str | None, now: datetime) -> UserRow:
        if role not in ROLES:
            raise StorageError(f"user {name}: unknown role {role!r}", code="store.user.role")
        try:
            with translated("add a user"), self.engine.begin() as conn:
                conn.execute(
                    insert(users).values(
                        name=name,
                        role=role,
                        password_hash=password_hash,
                        language=None,
                        disabled=False,
                        created_at=now,
                    )
                )
        except StorageError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise StorageError(f"user {name} exists already", code="store.user.exists") from exc
            raise
        found = self.get(name)
        assert found is not None
        return found

    def get(self, name: str) -> UserRow | None:
        with translated("read a user"), self.engine.connect() as conn:
            row = conn.execute(select(*_USER_COLUMNS).where(users.c.name == name)).first()
        return _user(row) if row is not None else None

    def list(self) -> list[UserRow]:
        with translated("list users"), self.engine.connect() as conn:
            return [_user(r) for r in conn.execute(select(*_USER_COLUMNS).order_by(users.c.name))]

    def _set(self, name: str, what: str, **values: object) -> None:
        with translated(what), self.engine.begin() as conn:
            n = conn.execute(update(users).where(users.c.name == name).values(**values)).rowcount
        if not n:
            raise StorageError(f"no user {name}", code="store.user.missing")

    def disable(self, name: str) -> None:
        """Disable a user and end their sessions; their tokens stop working with them."""
        self._set(name, "disable a user", disabled=True)
        user = self.get(name)
        assert user is not None
        with translated("end a user's sessions"), self.engine.begin() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user.id))

    def set_language(self, name: str, language: str) -> None:
        self._set(name, "save a user's language", language=language)

    def set_password_hash(self, name: str, password_hash: str) -> None:
        self._set(name, "change a password", password_hash=password_hash)

    # -- API tokens -----------------------------------------------------------------------

    def add_token(self, user_id: int, token_hash: str, scope: str, now: datetime) -> int:
        with translated("add an API token"), self.engine.begin() as conn:
            result = conn.execute(
                insert(user_tokens).values(
                    user_id=user_id, token_hash=token_hash, scope=scope, created_at=now
                )
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def by_token(self, token_hash: str) -> tuple[UserRow, str] | None:
        """The user and scope of a live (unrevoked) token."""
        stmt = (
            select(*_USER_COLUMNS, user_tokens.c.scope)
            .join(user_tokens, user_tokens.c.user_id == users.c.id)
            .where(user_tokens.c.token_hash == token_hash, user_tokens.c.revoked_at.is_(None))
        )
        with translated("look up an API token"), self.engine.connect() as conn:
            row = conn.execute(stmt).first()
        return (_user(row), str(row.scope)) if row is not None else None

    def revoke_tokens(self, name: str, now: datetime) -> int:
        user = self.get(name)
        if user is None:
            raise StorageError(f"no user {name}", code="store.user.missing")
        with translated("revoke API tokens"), self.engine.begin() as conn:
            return int(
                conn.execute(
                    update(user_tokens)
                    .where(user_tokens.c.user_id == user.id, user_tokens.c.revoked_at.is_(None))
                    .values(revoked_at=now)
                ).rowcount
            )

    def live_tokens(self, user_id: int) -> int:
        stmt = select(func.count()).where(
            user_tokens.c.user_id == user_id, user_tokens.c.revoked_at.is_(None)
        )
        with translated("count API tokens"), self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    # -- web sessions ---------------------------------------------------------------------

    def add_session(self, id_hash: str, user_id: int, csrf: str, now: datetime) -> None:
        with translated("open a session"), self.engine.begin() as conn:
            conn.execute(
                insert(web_sessions).values(
                    id_hash=id_hash, user_id=user_id, csrf=csrf, created_at=now, last_seen_at=now
                )
            )

    def session(self, id_hash: str) -> SessionRow | None:
        stmt = (
            select(
                *_USER_COLUMNS,
                web_sessions.c.csrf,
                web_sessions.c.created_at.label("s_created"),
                web_sessions.c.last_seen_at,
            )
            .join(web_sessions, web_sessions.c.user_id == users.c.id)
            .where(web_sessions.c.id_hash == id_hash)
        )
        with translated("read a session"), self.engine.connect() as conn:
            row = conn.execute(stmt).first()
        if row is None:
            return None
        return SessionRow(_user(row), row.csrf, row.s_created, row.last_seen_at)

    def touch_session(self, id_hash: str, now: datetime) -> None:
        with translated("refresh a session"), self.engine.begin() as conn:
            conn.execute(
                update(web_sessions)
                .where(web_sessions.c.id_hash == id_hash)
                .values(last_seen_at=now)
            )

    def end_session(self, id_hash: str) -> None:
        with translated("end a session"), self.engine.begin() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.id_hash == id_hash))
