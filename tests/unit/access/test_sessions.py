"""Accounts on a real store: passwords as argon2 hashes, tokens and session ids kept only as
hashes, roles checked, session lifetimes on an injected clock."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from ctop_node.access.passwords import hash_password, verify_password
from ctop_node.access.policy import Role
from ctop_node.access.sessions import Accounts, SessionSettings
from ctop_node.errors import AccessError, StorageError
from ctop_node.store import SqlStore
from ctop_node.store.schema import user_tokens, users, web_sessions
from ctop_node.store.users import UserStore
from tests.unit.web._ui import CHEAP_HASHER, PASSWORD, Clock


@pytest.fixture
def accounts(store: SqlStore) -> Accounts:
    return Accounts(
        UserStore(store.engine),
        clock=Clock(),
        settings=SessionSettings(idle=timedelta(minutes=10), absolute=timedelta(hours=1)),
        hasher=CHEAP_HASHER,
    )


def test_password_is_stored_as_an_argon2id_hash(accounts: Accounts) -> None:
    accounts.add_user("olga", "arrival_officer", PASSWORD)
    with accounts.users.engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert verify_password(stored, PASSWORD) and not verify_password(stored, PASSWORD + "x")
    assert not verify_password(None, PASSWORD)
    assert not verify_password("not a hash", PASSWORD)


def test_short_passwords_unknown_roles_bad_names_and_duplicates_are_refused(
    accounts: Accounts,
) -> None:
    with pytest.raises(AccessError, match="at least 12"):
        accounts.add_user("olga", "arrival_officer", "short")
    with pytest.raises(AccessError) as err:
        accounts.add_user("olga", "customs_god", PASSWORD)
    assert err.value.code == "access.role"
    with pytest.raises(AccessError):
        accounts.add_user("olga; drop", "analyst", PASSWORD)
    with pytest.raises(AccessError):
        accounts.add_user("sys", "clearance_system", PASSWORD)
    accounts.add_user("olga", "analyst", PASSWORD)
    with pytest.raises(StorageError) as dup:
        accounts.add_user("olga", "analyst", PASSWORD)
    assert dup.value.code == "store.user.exists"


def test_token_is_stored_as_its_hash_and_revocable(accounts: Accounts) -> None:
    accounts.add_user("olga", "arrival_officer", PASSWORD)
    token = accounts.issue_token("olga")
    with accounts.users.engine.connect() as conn:
        stored = conn.execute(select(user_tokens.c.token_hash)).scalar_one()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    who = accounts.bearer(token)
    assert who is not None and who.role is Role.ARRIVAL_OFFICER and who.scope == "read"
    assert accounts.users.revoke_tokens("olga", accounts.clock()) == 1
    assert accounts.bearer(token) is None


def test_session_id_is_stored_as_its_hash_and_expires(accounts: Accounts) -> None:
    clock = accounts.clock
    assert isinstance(clock, Clock)
    accounts.add_user("olga", "arrival_officer", PASSWORD)
    s = accounts.login("olga", PASSWORD, "127.0.0.1")
    with accounts.users.engine.connect() as conn:
        assert conn.execute(select(web_sessions.c.id_hash)).scalar_one() == (
            hashlib.sha256(s.cookie.encode()).hexdigest()
        )
    clock.advance(minutes=9)
    assert accounts.session(s.cookie) is not None
    clock.advance(minutes=11)
    assert accounts.session(s.cookie) is None
    s = accounts.login("olga", PASSWORD, "127.0.0.1")
    for _ in range(7):
        clock.advance(minutes=9)
        alive = accounts.session(s.cookie)
    assert alive is None  # 63 minutes after login, busy or not


def test_the_internal_api_token_is_the_clearance_system(store: SqlStore) -> None:
    accounts = Accounts(UserStore(store.engine), system_token="s3cret-system-token")
    who = accounts.bearer("s3cret-system-token")
    assert who is not None and who.role is Role.CLEARANCE_SYSTEM
    assert accounts.bearer("s3cret-system-tokeX") is None
    assert accounts.bearer("") is None


def test_hash_password_checks_the_length_first() -> None:
    with pytest.raises(AccessError):
        hash_password("x" * 11, CHEAP_HASHER)
