"""Users of a node for the tests: one per role, named as the role (``--user supervisor`` acts
as a supervisor on the command line, where record content needs a checked user)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ctop_node.access.policy import USER_ROLES
from ctop_node.access.sessions import Accounts
from ctop_node.config import NodeConfig
from ctop_node.store import open_store
from ctop_node.store.users import UserStore


def add_role_users(db_url: str) -> None:
    with open_store(db_url) as store:
        accounts = Accounts(UserStore(store.engine))
        for role in USER_ROLES:
            if accounts.users.get(role) is None:
                accounts.add_user(role, role, None)


def add_role_users_at(home: Path) -> None:
    """The same in the database of the node at ``home`` (its node.json names it)."""
    add_role_users(NodeConfig.load(home).db_url)


def add_user(home: Path, name: str, role: str, password: str) -> None:
    """``ctop-node user add`` as an operator runs it, password on standard input."""
    subprocess.run(
        [sys.executable, "-m", "ctop_node", "user", "add", name, "--role", role]
        + ["--password-stdin", "--home", str(home)],
        input=password + "\n",
        text=True,
        check=True,
        capture_output=True,
        timeout=120,
    )
