"""The node's file modes: ``private_umask`` makes new files 0600 and directories 0700;
``restrict_home`` tightens a home an older version (or umask 022) left open, without
following symlinks."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ctop_node.files import private_umask, restrict_home


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_private_umask_makes_new_files_private(tmp_path: Path, usual_umask: None) -> None:
    assert private_umask() == 0o022
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "node.db").write_bytes(b"x")
    assert mode(tmp_path / "d") == 0o700
    assert mode(tmp_path / "d" / "node.db") == 0o600


def test_restrict_home_tightens_an_open_home(tmp_path: Path, usual_umask: None) -> None:
    home = tmp_path / "home"
    (home / "keys").mkdir(parents=True)
    (home / "node.db").write_bytes(b"db")
    (home / "keys" / "tls.key").write_bytes(b"k")
    os.chmod(home / "node.db", 0o644)
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"not the node's")
    os.chmod(outside, 0o644)
    (home / "link").symlink_to(outside)
    assert mode(home) == 0o755

    restrict_home(home)

    assert mode(home) == 0o700
    assert mode(home / "keys") == 0o700
    assert mode(home / "node.db") == 0o600
    assert mode(home / "keys" / "tls.key") == 0o600
    assert mode(outside) == 0o644  # a symlink's target is not the node's to change


def test_restrict_home_leaves_a_missing_home_alone(tmp_path: Path) -> None:
    restrict_home(tmp_path / "none")
    assert not (tmp_path / "none").exists()
