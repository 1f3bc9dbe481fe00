"""deploy/: the systemd units and the container file run commands and options that exist,
with the hardening the operations guide promises. (No container engine runs here: the
Containerfile is checked as text, and its command like the units' through the real CLI.)"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).parents[2] / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
BINARY = "/opt/ctop-node/bin/ctop-node"


def _settings(unit: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in unit.read_text("utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def _runs(argv: list[str]) -> None:
    """The command parses: every option exists (``--help`` answers after parsing them)."""
    done = subprocess.run(
        [sys.executable, "-m", "ctop_node", *argv, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, (argv, done.stderr)


def test_there_are_units() -> None:
    assert {u.name for u in UNITS} == {"ctop-node.service", "ctop-node-watch.service"}


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_hardening_and_commands(unit: Path) -> None:
    s = _settings(unit)
    assert s["User"] == ["ctop"] and s["Group"] == ["ctop"]
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert s[key] == [value], key
    assert "/var/lib/ctop" in s["ReadWritePaths"][0].split()
    commands = s.get("ExecStartPre", []) + s["ExecStart"]
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == BINARY
        assert argv[argv.index("--home") + 1] == "/var/lib/ctop"
        _runs(argv[1:])


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_units_verify() -> None:
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *map(str, UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # The binary is not installed here; anything else systemd says is a fault of the unit.
    problems = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if line.strip() and f"Command {BINARY} is not executable" not in line
    ]
    assert problems == []


def test_containerfile_runs_as_non_root_with_the_home_on_a_volume() -> None:
    text = (DEPLOY / "Containerfile").read_text("utf-8")
    lines = [line.strip() for line in text.splitlines() if not line.startswith("#")]
    user = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert user and user[-1].split(":")[0] not in {"0", "root"}
    assert 'VOLUME ["/var/lib/ctop"]' in lines
    entry = next(line for line in lines if line.startswith("ENTRYPOINT "))
    cmd = next(line for line in lines if line.startswith("CMD "))
    assert json.loads(entry.removeprefix("ENTRYPOINT ")) == ["ctop-node"]
    _runs(json.loads(cmd.removeprefix("CMD ")))
    assert "--read-only" in text  # the documented run keeps the root file system read-only
