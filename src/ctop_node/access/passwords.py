"""Password hashing with argon2id (argon2-cffi): never a password in the database."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ctop_node.errors import AccessError

MIN_LENGTH = 12
_hasher = PasswordHasher()  # the library's RFC 9106 low-memory profile

# A hash to verify against when the user does not exist, so a missing user costs the
# same time as a wrong password (no user enumeration by timing).
_DUMMY = _hasher.hash("ctop-node: no such user")


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise AccessError(
            f"the password has {len(password)} characters; at least {MIN_LENGTH} are needed",
            code="access.password.short",
        )


def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    """The argon2id hash of ``password``; it carries its own parameters, so verifying it
    needs no configuration (tests pass a cheaper ``hasher``)."""
    check_strength(password)
    return (hasher or _hasher).hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
