"""THE access check: every page and API call asks ``check(principal, action, purpose)``.

The permission table says, per role, which actions it may take for which purpose. It is the
skeleton the confidentiality work completes (consent register, audit of every read of peer
data); the rule that matters already holds: officers and supervisors read records for
customs control, analysts never read records. A token's scope narrows its user's role.
"""

from __future__ import annotations

from collections.abc import Iterator
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
    READ_METRICS = "metrics.read"  # Prometheus scraping with the node's own token
    EXPORT_RECORDS = "records.export"  # files of record content: exports, evidence bundles
    PURGE_RECORDS = "records.purge"  # retention: remove peer record bodies
    MANAGE_CONSENTS = "consents.manage"  # register or revoke a peer Party's written consent
    READ_CONSENTS = "consents.read"  # the consent register (no record content)


class Purpose(StrEnum):
    CUSTOMS_CONTROL = "customs_control"
    CLEARANCE = "clearance"
    RISK_ANALYSIS = "risk_analysis"
    AUDIT = "audit"
    ADMINISTRATION = "administration"
    OPERATIONS = "operations"
    RETENTION = "retention"


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
        # Files of record content (exports, evidence for a court under a consent) and the
        # consent register they are checked against: the supervisor's (CLI only).
        Action.EXPORT_RECORDS: _CONTROL,
        Action.MANAGE_CONSENTS: frozenset({Purpose.ADMINISTRATION}),
        Action.READ_CONSENTS: frozenset({Purpose.AUDIT}),
    },
    Role.ANALYST: {
        Action.READ_STATISTICS: frozenset({Purpose.RISK_ANALYSIS}),
        Action.READ_STATUS: _OPS,
    },
    Role.AUDITOR: {
        Action.READ_AUDIT: frozenset({Purpose.AUDIT}),
        Action.READ_CONSENTS: frozenset({Purpose.AUDIT}),
        Action.READ_STATUS: _OPS,
    },
    Role.ADMIN: {
        Action.MANAGE_USERS: frozenset({Purpose.ADMINISTRATION}),
        # Retention is configuration carried out: it removes content, it shows none.
        Action.PURGE_RECORDS: frozenset({Purpose.RETENTION}),
        Action.READ_STATUS: _OPS,
    },
    Role.CLEARANCE_SYSTEM: {
        Action.INGEST_RECORDS: frozenset({Purpose.CLEARANCE}),
        Action.READ_STATUS: _OPS,
        Action.READ_METRICS: _OPS,
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
    via: str  # "session" | "token" | "system" | "cli" (a named user on the command line)
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


# -- the routes of the internal port ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RouteRule:
    """What one route of the internal port asks of its caller: ``action`` for ``purpose``
    (the check above), or no role check at all (``open``: "anyone" or "session")."""

    action: Action | None = None
    purpose: Purpose | None = None
    open: str = ""


PUBLIC = RouteRule(open="anyone")  # probes, the login form, the stylesheet: no record data
ANY_SESSION = RouteRule(open="session")  # logout, language: the user's own session only
_READ = RouteRule(Action.READ_RECORDS, Purpose.CUSTOMS_CONTROL)
_CONTROL_RULE = RouteRule(Action.RECORD_CONTROL, Purpose.CUSTOMS_CONTROL)
_INGEST = RouteRule(Action.INGEST_RECORDS, Purpose.CLEARANCE)

# (method, path template) -> rule, for every route the internal port serves. A route without
# an entry fails tests/unit/web/test_permission_matrix.py, which walks the app's routes and
# calls each one as every role; docs/ui.md's permission table is generated from this.
ROUTES: dict[tuple[str, str], RouteRule] = {
    ("POST", "/api/v1/records"): _INGEST,
    ("POST", "/api/v1/records/{record_id}/cancel"): _INGEST,
    ("GET", "/api/v1/status"): RouteRule(Action.READ_STATUS, Purpose.OPERATIONS),
    ("GET", "/api/v1/records"): _READ,
    ("GET", "/api/v1/records/{record_id:path}"): _READ,
    ("GET", "/api/v1/records/{record_id}/control-results"): _READ,
    ("POST", "/api/v1/records/{record_id}/control-results"): _CONTROL_RULE,
    ("GET", "/api/v1/records/{record_id}/discrepancies"): _READ,
    ("GET", "/api/v1/control-results"): _READ,
    ("GET", "/api/v1/trains"): _READ,
    ("GET", "/api/v1/trains/{train_key}"): _READ,
    ("GET", "/api/v1/trains/{train_key}/containers.csv"): _READ,
    ("GET", "/api/v1/containers/{number}"): _READ,
    ("GET", "/api/v1/search"): _READ,
    ("GET", "/api/v1/departure"): _READ,
    ("GET", "/metrics"): RouteRule(Action.READ_METRICS, Purpose.OPERATIONS),
    ("GET", "/ui/"): _READ,
    ("GET", "/ui/search"): _READ,
    ("GET", "/ui/trains/{key}"): _READ,
    ("GET", "/ui/containers/{number}"): _READ,
    ("GET", "/ui/records/{origin}/{record_id:path}"): _READ,
    ("GET", "/ui/control/{origin}/{record_id:path}"): _CONTROL_RULE,
    ("POST", "/ui/control/{origin}/{record_id:path}"): _CONTROL_RULE,
    ("GET", "/ui/departure"): _READ,
    # The evaluation report: aggregates only (analysts and supervisors).
    ("GET", "/ui/report"): RouteRule(Action.READ_STATISTICS, Purpose.RISK_ANALYSIS),
    ("POST", "/logout"): ANY_SESSION,
    ("POST", "/ui/language"): ANY_SESSION,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("GET", "/"): PUBLIC,
    ("GET", "/static"): PUBLIC,
    ("GET", "/api/v1/health"): PUBLIC,
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
}

# -- the commands of the command line ----------------------------------------------------

# The node's operator: the OS account that owns the node home already holds its keys, its
# database and its configuration, so a role check on these commands would prove nothing;
# they show no record content (counts, states, ids and digests at most).
OPERATOR = RouteRule(open="operator")
# Offline checks of files the caller already holds (nothing of the node is opened).
OFFLINE = RouteRule(open="offline")

# Command (as typed after ``ctop-node``) -> rule. A command that shows, exports or acts on
# peer data (Art.6 material) acts as a named user (``--user``, ``$CTOP_USER`` or the token in
# ``$CTOP_TOKEN``) checked by ``check()`` like a page or an API call
# (``ctop_node.cli._actor.authorize``); tests/unit/cli/test_cli_access.py walks the command
# tree: a command without an entry fails there, and so does every role the table refuses.
CLI_COMMANDS: dict[str, RouteRule] = {
    "records list": _READ,
    "records show": _READ,
    "records export": RouteRule(Action.EXPORT_RECORDS, Purpose.CUSTOMS_CONTROL),
    "evidence pack": RouteRule(Action.EXPORT_RECORDS, Purpose.CUSTOMS_CONTROL),
    "consent add": RouteRule(Action.MANAGE_CONSENTS, Purpose.ADMINISTRATION),
    "consent revoke": RouteRule(Action.MANAGE_CONSENTS, Purpose.ADMINISTRATION),
    "consent list": RouteRule(Action.READ_CONSENTS, Purpose.AUDIT),
    "audit verify": RouteRule(Action.READ_AUDIT, Purpose.AUDIT),
    "audit export": RouteRule(Action.READ_AUDIT, Purpose.AUDIT),
    "purge": RouteRule(Action.PURGE_RECORDS, Purpose.RETENTION),
    "report": RouteRule(Action.READ_STATISTICS, Purpose.RISK_ANALYSIS),
    "audit verify-export": OFFLINE,
    "evidence verify": OFFLINE,
}


def cli_rule(command: str) -> RouteRule:
    """The rule of a command; a command not in the table is an operator's."""
    return CLI_COMMANDS.get(command, OPERATOR)


def cli_rows() -> Iterator[list[str]]:
    """The command table as rows: command, then one cell per user role (users by name or
    token on the command line)."""
    for command, rule in CLI_COMMANDS.items():
        if rule.action is None or rule.purpose is None:
            continue
        cells = [
            "yes" if allowed(Principal(r, Role(r), "cli"), rule.action, rule.purpose) else "refused"
            for r in USER_ROLES
        ]
        yield [f"`ctop-node {command}`", f"{rule.action.value} ({rule.purpose.value})", *cells]


# The callers of the table: each user role (by session on pages, by token on the API), the
# node's own token, and nobody.
SYSTEM_CALLER = "system token"
NO_CALLER = "none"
CALLERS: tuple[str, ...] = (*USER_ROLES, SYSTEM_CALLER, NO_CALLER)


def is_page(path: str) -> bool:
    """Pages (and their forms) take a session and send the anonymous to /login; the rest
    takes a bearer token (or, for API reads, a session) and answers 401."""
    return path.startswith("/ui/")


def caller_principal(caller: str, path: str, *, scope: str = "control") -> Principal | None:
    """Who ``caller`` is on ``path``: pages know sessions only, the API a user's token."""
    if caller == NO_CALLER:
        return None
    if caller == SYSTEM_CALLER:
        return (
            None
            if is_page(path)
            else Principal("clearance-system", Role.CLEARANCE_SYSTEM, "system")
        )
    role = Role(caller)
    return (
        Principal(caller, role, "session")
        if is_page(path)
        else Principal(caller, role, "token", scope=scope)
    )


def expected(rule: RouteRule, path: str, principal: Principal | None) -> str:
    """What the route answers that caller: ``ok``, ``403``, ``401`` or ``login`` (a page
    redirecting the anonymous to the login form); ``open`` for routes without a check."""
    if rule.action is None:
        return "open"
    if principal is None:
        return "login" if is_page(path) else "401"
    assert rule.purpose is not None
    return "ok" if allowed(principal, rule.action, rule.purpose) else "403"


def matrix_rows() -> Iterator[list[str]]:
    """The permission table as rows: route, then one cell per caller (users by session)."""
    marks = {"ok": "yes", "403": "403", "401": "401", "login": "login"}
    for (method, path), rule in ROUTES.items():
        if rule.action is None:
            cells = ["yes" if rule.open == "anyone" else "own session"] * len(CALLERS)
        else:
            cells = []
            for caller in CALLERS:
                principal = caller_principal(caller, path)
                if principal is not None and principal.via == "token":
                    principal = Principal(caller, principal.role, "session")
                cells.append(marks[expected(rule, path, principal)])
        what = (
            f"{rule.action.value} ({rule.purpose.value})" if rule.action and rule.purpose else "-"
        )
        yield [f"`{method} {path}`", what, *cells]


def matrix_markdown() -> str:
    """The table docs/ui.md carries between its ``permission-matrix`` markers."""
    head = ["Route", "Action (purpose)", *(f"`{c}`" if c in USER_ROLES else c for c in CALLERS)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in matrix_rows()]
    # The command line: the same check, by the user named with --user or $CTOP_TOKEN.
    cli_head = ["Command", "Action (purpose)", *(f"`{c}`" for c in USER_ROLES)]
    lines += ["", "| " + " | ".join(cli_head) + " |", "|" + "---|" * len(cli_head)]
    lines += ["| " + " | ".join(row) + " |" for row in cli_rows()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m ctop_node.access.policy > the table for docs/ui.md
    print(matrix_markdown(), end="")
