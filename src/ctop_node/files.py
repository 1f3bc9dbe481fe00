"""Who may read what the node writes: the home is 0700 and every file in it 0600.

The home holds private keys, the API token and a database of decrypted peer records; any
local user could read them when the node wrote with the usual umask 022 (node.db 0644 in a
0755 home, issue 8). ``private_umask`` is set once when the CLI starts, so every file the
process creates afterwards (database, its -wal/-shm, reports, exports) is 0600 and every
directory 0700; ``restrict_home`` tightens a home made before that (or by an older version).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
HOME_MODE = 0o700


def private_umask() -> int:
    """Set the process umask to 077; return the previous one."""
    return os.umask(PRIVATE_UMASK)


def restrict_home(home: Path) -> None:
    """Make ``home`` 0700 and take group/other permissions off everything under it (symlinks
    are left alone, never followed). A missing home is left for ``init`` to create."""
    if not home.is_dir():
        return
    os.chmod(home, HOME_MODE)
    for root, dirs, files in os.walk(home):
        for name in [*dirs, *files]:
            path = os.path.join(root, name)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                continue
            mode = stat.S_IMODE(st.st_mode)
            if mode & 0o077:
                os.chmod(path, mode & ~0o077)
