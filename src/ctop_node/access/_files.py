"""Files that carry peer data or audit evidence: created new (never over another file) and
readable by the owner only."""

from __future__ import annotations

import os
from pathlib import Path

from ctop_node.errors import AuditError


def write_new_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a file that must not exist yet (O_EXCL), mode 0600."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise AuditError(
            f"{path} already exists: choose another file, nothing was overwritten",
            code="audit.file_exists",
        ) from exc
    except OSError as exc:
        raise AuditError(f"cannot create {path}: {exc.strerror}", code="audit.file") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise AuditError(f"cannot write {path}: {exc.strerror}", code="audit.file") from exc
