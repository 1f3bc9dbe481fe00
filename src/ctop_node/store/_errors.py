"""Database errors become ``StorageError`` with a stable code where they enter."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic.util import CommandError
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)

from ctop_node.errors import StorageError


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Run a block of database work; failures leave it as ``StorageError``:

    - ``store.integrity``: the database refused the data (unique key, check, foreign key);
    - ``store.unavailable``: the database cannot be reached, opened, or is locked;
    - ``store.url``: the database URL or its driver is wrong;
    - ``store.migration``: the schema could not be brought up to date;
    - ``store.error``: any other database failure.
    """
    try:
        yield
    except IntegrityError as exc:
        raise StorageError(
            f"{action}: the database refused the data: {_reason(exc)}", code="store.integrity"
        ) from exc
    except (OperationalError, InterfaceError) as exc:
        raise StorageError(
            f"{action}: the database is unavailable: {_reason(exc)}", code="store.unavailable"
        ) from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise StorageError(
                f"{action}: the connection to the database was lost: {_reason(exc)}",
                code="store.unavailable",
            ) from exc
        raise StorageError(f"{action}: {_reason(exc)}", code="store.error") from exc
    except ArgumentError as exc:
        raise StorageError(f"{action}: bad database URL: {exc}", code="store.url") from exc
    except CommandError as exc:
        raise StorageError(f"{action}: {exc}", code="store.migration") from exc
    except SQLAlchemyError as exc:
        raise StorageError(f"{action}: {_reason(exc)}", code="store.error") from exc
