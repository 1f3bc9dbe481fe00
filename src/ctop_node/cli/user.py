"""``ctop-node user``: officers and other users of the UI and read API, and their tokens."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ctop_node.access.policy import TOKEN_SCOPES, USER_ROLES
from ctop_node.access.sessions import Accounts
from ctop_node.cli._actor import ActorOpt, actor_name, audit_chain, cli_origin
from ctop_node.cli._common import (
    DbOpt,
    HomeOpt,
    JsonOpt,
    TokenScope,
    UserRole,
    console,
    err_console,
    print_json,
)
from ctop_node.cli.records import resolve_db_url
from ctop_node.config import default_home
from ctop_node.errors import ConfigError, UsageError
from ctop_node.i18n import N_, _
from ctop_node.store import SqlStore, open_store
from ctop_node.store.users import UserStore

user_app = typer.Typer(
    help=N_("Users of the officers' UI and of the read API."), no_args_is_help=True
)


def _accounts(home: Path | None, db: str | None) -> tuple[SqlStore, Accounts]:
    where = home or default_home()
    if db is None and not where.is_dir():  # a mistyped --home: no database made there
        raise ConfigError(
            _("no node home at {path}: check --home (or give --db)").format(path=where),
            code="config.no_home",
        )
    store = open_store(resolve_db_url(home, db))
    return store, Accounts(UserStore(store.engine))


ADMINISTRATION = "administration"


def _audit(
    store: SqlStore, home: Path | None, actor: str | None, action: str, name: str, **detail: Any
) -> None:
    """Art.6: every change of who may do what is an entry of the audit chain."""
    audit_chain(store, home).record(
        actor_name(actor),
        action,
        f"user:{name}",
        purpose=ADMINISTRATION,
        origin=cli_origin(),
        detail=detail,
    )


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        # One line; the trailing newline is not part of the password.
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():  # a script or a service: a prompt would hang or echo
        raise UsageError(
            _("no terminal to type the password on: pipe it in with --password-stdin"),
            code="user.password_tty",
        )
    first = typer.prompt(_("Password of the user"), hide_input=True)
    again = typer.prompt(_("Repeat the password of the user"), hide_input=True)
    if first != again:
        raise UsageError(
            _("the two passwords typed for the user differ"), code="user.password_repeat"
        )
    return str(first)


@user_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help=N_("User name (letters, digits, '-', '_')."))],
    role: Annotated[UserRole, typer.Option("--role", help=N_("What the user may do."))],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help=N_("Read the password from standard input."))
    ] = False,
    home: HomeOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
    actor: ActorOpt = None,
) -> None:
    """Add a user with a role and a password (at least 12 characters).

    \b
    Examples:
      ctop-node user add aigerim --role arrival_officer --home /var/lib/ctop
      printf '%s' "$PASSWORD" | ctop-node user add audit1 --role auditor --password-stdin --json
    """
    if role not in USER_ROLES:
        raise UsageError(
            _("unknown role {role}; choose one of: {roles}").format(
                role=role, roles=", ".join(USER_ROLES)
            ),
            code="user.role",
        )
    store, accounts = _accounts(home, db)  # a wrong home fails before the password is asked
    with store:
        password = _read_password(password_stdin)
        user = accounts.add_user(name, role, password)
        _audit(store, home, actor, "user.add", user.name, role=user.role)
    if as_json:
        print_json({"name": user.name, "role": user.role})
    else:
        err_console.print(
            _("User {name} added with role {role}").format(name=escape(user.name), role=user.role),
            highlight=False,
        )


@user_app.command("list")
def list_users(home: HomeOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List users, their roles and whether they are disabled.

    \b
    Examples:
      ctop-node user list --home /var/lib/ctop
      ctop-node user list --home /var/lib/ctop --json
    """
    store, accounts = _accounts(home, db)
    with store:
        rows = [(u, accounts.users.live_tokens(u.id)) for u in accounts.users.list()]
    if as_json:
        print_json(
            [
                {
                    "name": u.name,
                    "role": u.role,
                    "disabled": u.disabled,
                    "language": u.language,
                    "tokens": n,
                    "created_at": u.created_at.isoformat(),
                }
                for u, n in rows
            ]
        )
        return
    table = Table(
        _("User name"),
        _("Role of the user"),
        _("User disabled"),
        _("Live API tokens"),
        _("Added at"),
    )
    for u, n in rows:
        table.add_row(
            escape(u.name),
            u.role,
            _("yes") if u.disabled else _("no"),
            str(n),
            u.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


@user_app.command("disable")
def disable(
    name: Annotated[str, typer.Argument(help=N_("User name."))],
    home: HomeOpt = None,
    db: DbOpt = None,
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Disable a user: their sessions end and their tokens stop working.

    \b
    Examples:
      ctop-node user disable aigerim --home /var/lib/ctop
    """
    store, accounts = _accounts(home, db)
    with store:
        accounts.users.disable(name)
        _audit(store, home, actor, "user.disable", name)
    if as_json:
        print_json({"name": name, "disabled": True})
        return
    err_console.print(_("User {name} disabled").format(name=escape(name)), highlight=False)


@user_app.command("token")
def token(
    name: Annotated[str, typer.Argument(help=N_("User name."))],
    revoke: Annotated[
        bool, typer.Option("--revoke", help=N_("Revoke every token of the user instead."))
    ] = False,
    scope: Annotated[
        TokenScope,
        typer.Option(
            "--scope", help=N_("read (default) or control (may also post control results).")
        ),
    ] = "read",
    home: HomeOpt = None,
    db: DbOpt = None,
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print a new read-scoped API token for the user (shown once), or revoke their tokens.

    \b
    Examples:
      ctop-node user token clearance --home /var/lib/ctop
      ctop-node user token clearance --scope control --home /var/lib/ctop --json
      ctop-node user token clearance --revoke --home /var/lib/ctop
    """
    store, accounts = _accounts(home, db)
    with store:
        if revoke:
            n = accounts.users.revoke_tokens(name, accounts.clock())
            _audit(store, home, actor, "user.token.revoke", name, tokens=n)
            if as_json:
                print_json({"name": name, "revoked": n})
                return
            err_console.print(
                _("{count} tokens of {name} revoked").format(count=n, name=escape(name)),
                highlight=False,
            )
            return
        if scope not in TOKEN_SCOPES:
            raise UsageError(
                f"unknown token scope {scope!r}; one of {sorted(TOKEN_SCOPES)}",
                code="user.scope",
            )
        secret = accounts.issue_token(name, scope)
        _audit(store, home, actor, "user.token.issue", name, scope=scope)
    if as_json:
        print_json({"name": name, "scope": scope, "token": secret})
    else:
        typer.echo(secret)


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
