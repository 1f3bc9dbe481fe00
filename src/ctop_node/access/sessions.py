"""Logins, web sessions and API tokens: who a request comes from.

A session id and a token are random 256-bit strings handed to the client once; the store
keeps their SHA-256 only. Sessions end after ``idle`` without a request and, whatever the
activity, ``absolute`` after login. Time comes from an injected clock.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher

from ctop_node.access.passwords import hash_password, verify_password
from ctop_node.access.policy import USER_ROLES, Principal, Role
from ctop_node.access.throttle import LoginThrottle
from ctop_node.errors import AccessError
from ctop_node.store.users import UserRow, UserStore

TOKEN_PREFIX = "ctu_"  # tells a user token from the node's internal API token at a glance


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SessionSettings:
    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class Session:
    cookie: str  # the secret the browser holds
    csrf: str
    principal: Principal


def principal_of(user: UserRow, via: str, scope: str | None = None) -> Principal:
    return Principal(user.name, Role(user.role), via, scope=scope, language=user.language)


class Accounts:
    """Users, passwords, tokens and sessions on top of the ``UserStore``."""

    def __init__(
        self,
        users: UserStore,
        *,
        clock: Callable[[], datetime] = utc_now,
        settings: SessionSettings | None = None,
        throttle: LoginThrottle | None = None,
        system_token: str | None = None,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.users = users
        self.clock = clock
        self.settings = settings or SessionSettings()
        self.throttle = throttle or LoginThrottle(clock)
        self.system_token = system_token
        self.hasher = hasher

    # -- users ----------------------------------------------------------------------------

    def add_user(self, name: str, role: str, password: str | None) -> UserRow:
        if role not in USER_ROLES:
            raise AccessError(
                f"user {name}: unknown role {role!r}; one of {', '.join(USER_ROLES)}",
                code="access.role",
            )
        if not name or len(name) > 64 or not name.replace("-", "").replace("_", "").isalnum():
            raise AccessError(
                f"user name {name!r}: 1 to 64 letters, digits, '-' or '_'", code="access.name"
            )
        hashed = hash_password(password, self.hasher) if password is not None else None
        return self.users.add(name, role, hashed, self.clock())

    def issue_token(self, name: str, scope: str = "read") -> str:
        """A new API token for ``name`` (printed once; only its hash is stored)."""
        user = self.users.get(name)
        if user is None or user.disabled:
            raise AccessError(f"no active user {name}", code="access.no_user")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.users.add_token(user.id, _digest(token), scope, self.clock())
        return token

    # -- requests -------------------------------------------------------------------------

    def bearer(self, token: str) -> Principal | None:
        """The principal of an ``Authorization: Bearer`` token, or None."""
        if not token:
            return None
        if self.system_token and hmac.compare_digest(token.encode(), self.system_token.encode()):
            return Principal("clearance-system", Role.CLEARANCE_SYSTEM, "system")
        if not token.startswith(TOKEN_PREFIX):
            return None
        found = self.users.by_token(_digest(token))
        if found is None or found[0].disabled:
            return None
        return principal_of(found[0], "token", scope=found[1])

    def login(self, name: str, password: str, address: str) -> Session:
        blocked = self.throttle.blocked_until(name, address)
        if blocked is not None:
            raise AccessError(
                f"too many failed logins; try again after {blocked:%H:%M:%S} UTC",
                code="access.throttled",
            )
        user = self.users.get(name)
        ok = verify_password(user.password_hash if user else None, password)
        if user is None or not ok or user.disabled:
            self.throttle.failed(name, address)
            raise AccessError("wrong user name or password", code="access.login")
        self.throttle.succeeded(name)
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.users.add_session(_digest(cookie), user.id, csrf, self.clock())
        return Session(cookie, csrf, principal_of(user, "session"))

    def session(self, cookie: str) -> Session | None:
        """The live session of a cookie (refreshing its idle timer), or None."""
        if not cookie:
            return None
        key = _digest(cookie)
        row = self.users.session(key)
        if row is None:
            return None
        now = self.clock()
        expired = (
            now - row.last_seen_at > self.settings.idle
            or now - row.created_at > self.settings.absolute
        )
        if expired or row.user.disabled:
            self.users.end_session(key)
            return None
        self.users.touch_session(key, now)
        return Session(cookie, row.csrf, principal_of(row.user, "session"))

    def logout(self, cookie: str) -> None:
        if cookie:
            self.users.end_session(_digest(cookie))

    def set_password(self, name: str, password: str) -> None:
        self.users.set_password_hash(name, hash_password(password, self.hasher))
