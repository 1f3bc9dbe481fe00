"""THE access check: every page and API call asks ``check(principal, action, purpose)``.

The permission table says, per role, which actions it may take for which purpose. It is the
skeleton the confidentiality work completes (consent register, audit of every read of peer
data); the rule that matters already holds: officers and supervisors read records for
customs control, analysts never read records. A token's scope narrows its user's role.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ctop_node.errors import AccessError


class Role(StrEnum):
    ARRIVAL_OFFICER = "arrival_officer"
    DEPARTURE_OFFICER = "departure_officer"
    SUPERVISOR = "supervisor"
    ANALYST = "analyst"
    AUDITOR = "auditor"
    ADMIN = "admin"
    # The clearance system behind the node's internal API token (HOME/keys/api-token): not
    # a user, never given to a person.
    CLEARANCE_SYSTEM = "clearance_system"


USER_ROLES: tuple[str, ...] = tuple(r.value for r in Role if r is not Role.CLEARANCE_SYSTEM)


class Action(StrEnum):
    READ_RECORDS = "records.read"  # record content: pages, API, search
    INGEST_RECORDS = "records.ingest"  # the clearance system posts records
    READ_STATUS = "status.read"  # counts and health, no record content
    READ_STATISTICS = "statistics.read"
    READ_AUDIT = "audit.read"
    MANAGE_USERS = "users.manage"
    RECORD_CONTROL = "control.record"  # an arrival officer records a control result


class Purpose(StrEnum):
    CUSTOMS_CONTROL = "customs_control"
    CLEARANCE = "clearance"
    RISK_ANALYSIS = "risk_analysis"
    AUDIT = "audit"
    ADMINISTRATION = "administration"
    OPERATIONS = "operations"


_CONTROL = frozenset({Purpose.CUSTOMS_CONTROL})
_OPS = frozenset({Purpose.OPERATIONS})

# Role -> action -> purposes it may be done for. Absent means denied (deny by default).
PERMISSIONS: dict[Role, dict[Action, frozenset[Purpose]]] = {
    Role.ARRIVAL_OFFICER: {
        Action.READ_RECORDS: _CONTROL,
        Action.RECORD_CONTROL: _CONTROL,
        Action.READ_STATUS: _OPS,
    },
    Role.DEPARTURE_OFFICER: {Action.READ_RECORDS: _CONTROL, Action.READ_STATUS: _OPS},
    Role.SUPERVISOR: {
        Action.READ_RECORDS: _CONTROL,
        Action.RECORD_CONTROL: _CONTROL,
        Action.READ_STATUS: _OPS,
        # The evaluation report's page (/ui/report): aggregates only, like the analyst's.
        Action.READ_STATISTICS: frozenset({Purpose.RISK_ANALYSIS}),
    },
    Role.ANALYST: {
        Action.READ_STATISTICS: frozenset({Purpose.RISK_ANALYSIS}),
        Action.READ_STATUS: _OPS,
    },
    Role.AUDITOR: {Action.READ_AUDIT: frozenset({Purpose.AUDIT}), Action.READ_STATUS: _OPS},
    Role.ADMIN: {
        Action.MANAGE_USERS: frozenset({Purpose.ADMINISTRATION}),
        Action.READ_STATUS: _OPS,
    },
    Role.CLEARANCE_SYSTEM: {
        Action.INGEST_RECORDS: frozenset({Purpose.CLEARANCE}),
        Action.READ_STATUS: _OPS,
    },
}

# What a user's API token may do at most, per scope (the role still has to allow it).
TOKEN_SCOPES: dict[str, frozenset[Action]] = {
    "read": frozenset({Action.READ_RECORDS, Action.READ_STATUS, Action.READ_STATISTICS}),
    # A customs system that also posts control results (``user token NAME --scope control``).
    "control": frozenset({Action.READ_RECORDS, Action.READ_STATUS, Action.RECORD_CONTROL}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a user (by session or token) or the clearance system."""

    name: str
    role: Role
    via: str  # "session" | "token" | "system"
    scope: str | None = None  # the token's scope when via == "token"
    language: str | None = None


def allowed(principal: Principal, action: Action, purpose: Purpose) -> bool:
    if purpose not in PERMISSIONS.get(principal.role, {}).get(action, frozenset()):
        return False
    if principal.via == "token":
        return action in TOKEN_SCOPES.get(principal.scope or "", frozenset())
    return True


def check(principal: Principal, action: Action, purpose: Purpose) -> None:
    """Raise ``access.denied`` unless the principal's role (and token scope) allows it."""
    if not allowed(principal, action, purpose):
        raise AccessError(
            f"{principal.name} ({principal.role.value}) may not {action.value} for {purpose.value}",
            code="access.denied",
        )
