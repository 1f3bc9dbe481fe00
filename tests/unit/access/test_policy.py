"""The permission table: deny by default; officers read records for customs control only;
analysts never read records; a token's scope narrows its user's role."""

from __future__ import annotations

import pytest

from ctop_node.access.policy import (
    PERMISSIONS,
    USER_ROLES,
    Action,
    Principal,
    Purpose,
    Role,
    allowed,
    check,
)
from ctop_node.errors import AccessError


def who(role: Role, via: str = "session", scope: str | None = None) -> Principal:
    return Principal("x", role, via, scope=scope)


@pytest.mark.parametrize("role", [Role.ARRIVAL_OFFICER, Role.DEPARTURE_OFFICER, Role.SUPERVISOR])
def test_officers_read_records_for_customs_control_only(role: Role) -> None:
    assert allowed(who(role), Action.READ_RECORDS, Purpose.CUSTOMS_CONTROL)
    for purpose in set(Purpose) - {Purpose.CUSTOMS_CONTROL}:
        assert not allowed(who(role), Action.READ_RECORDS, purpose)


@pytest.mark.parametrize("purpose", list(Purpose))
def test_analysts_never_read_records(purpose: Purpose) -> None:
    for via, scope in (("session", None), ("token", "read")):
        assert not allowed(who(Role.ANALYST, via, scope), Action.READ_RECORDS, purpose)
    with pytest.raises(AccessError) as err:
        check(who(Role.ANALYST), Action.READ_RECORDS, purpose)
    assert err.value.code == "access.denied"


def test_a_read_token_never_ingests_nor_manages() -> None:
    token = who(Role.ADMIN, "token", "read")
    assert not allowed(token, Action.MANAGE_USERS, Purpose.ADMINISTRATION)
    assert allowed(who(Role.ADMIN), Action.MANAGE_USERS, Purpose.ADMINISTRATION)
    officer = who(Role.ARRIVAL_OFFICER, "token", "read")
    assert allowed(officer, Action.READ_RECORDS, Purpose.CUSTOMS_CONTROL)
    assert not allowed(officer, Action.INGEST_RECORDS, Purpose.CLEARANCE)
    assert not allowed(
        who(Role.ARRIVAL_OFFICER, "token", "bogus"), Action.READ_STATUS, Purpose.OPERATIONS
    )


def test_only_the_clearance_system_ingests() -> None:
    for role in Role:
        expected = role is Role.CLEARANCE_SYSTEM
        assert allowed(who(role, "system"), Action.INGEST_RECORDS, Purpose.CLEARANCE) is expected


def test_every_user_role_has_an_entry_and_the_system_is_no_user_role() -> None:
    assert set(USER_ROLES) == {r.value for r in PERMISSIONS} - {"clearance_system"}
    assert "clearance_system" not in USER_ROLES


def test_the_command_line_table_keeps_record_content_to_officers_and_supervisors() -> None:
    from ctop_node.access.policy import CLI_COMMANDS

    content = {Action.READ_RECORDS, Action.EXPORT_RECORDS}
    for command, rule in CLI_COMMANDS.items():
        if rule.action not in content:
            continue
        assert rule.purpose is not None, command
        for role in (Role.ANALYST, Role.AUDITOR, Role.ADMIN, Role.CLEARANCE_SYSTEM):
            assert not allowed(who(role, "cli"), rule.action, rule.purpose), (command, role)


def test_exports_consents_purge_and_the_audit_log_each_have_their_role() -> None:
    cli = {r: who(r, "cli") for r in Role}
    assert [r for r in Role if allowed(cli[r], Action.EXPORT_RECORDS, Purpose.CUSTOMS_CONTROL)] == [
        Role.SUPERVISOR
    ]
    assert [r for r in Role if allowed(cli[r], Action.MANAGE_CONSENTS, Purpose.ADMINISTRATION)] == [
        Role.SUPERVISOR
    ]
    assert {r for r in Role if allowed(cli[r], Action.READ_CONSENTS, Purpose.AUDIT)} == {
        Role.SUPERVISOR,
        Role.AUDITOR,
    }
    assert [r for r in Role if allowed(cli[r], Action.PURGE_RECORDS, Purpose.RETENTION)] == [
        Role.ADMIN
    ]
    assert [r for r in Role if allowed(cli[r], Action.READ_AUDIT, Purpose.AUDIT)] == [Role.AUDITOR]
