"""Rules every ``ctop-node`` command keeps, checked by walking the whole command tree (a new
command that breaks one fails here):

- its help has an ``Examples:`` block whose lines parse as that command's arguments;
- it has ``--json``, unless listed in ``NO_JSON`` with the reason;
- an enumerated option is a checked choice, never free text;
- a failure is one error with a stable code, never a traceback: with ``--json`` a JSON object
  on stdout, without it one line on stderr — click's own usage errors included, and operator
  errors (a missing home, a file that cannot be read, a port in use).
"""

from __future__ import annotations

import errno
import json
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
import typer
from typer.testing import CliRunner

from ctop_node.cli import _common, app, run
from ctop_node.cli._errors import classify
from ctop_node.cli._lazy import LAZY, LazyGroup

# Commands without --json, and why.
NO_JSON: dict[str, str] = {
    "serve": "runs until stopped; it logs (--log-format json), and errors follow that format",
    "conformance serve": "runs until stopped; it logs",
    "watch": "runs until stopped; it logs one line per file",
    "tc schema": "its output is the JSON Schema itself",
    "tc xsd": "its output is the XSD itself",
    "sample": "its output is the records themselves (--format)",
}

# Options and arguments whose values are a closed list: each must be a checked choice.
MUST_CHOOSE = {
    "--format",
    "--lang",
    "--log-level",
    "--log-format",
    "--mode",
    "--outcome",
    "--purpose",
    "--role",
    "--scope",
    "kind",
}
# ... except where the name is the same but the value is open, and why.
OPEN_VALUES: dict[tuple[str, str], str] = {
    ("consent add", "--scope"): "record-id patterns, comma separated",
}
# Help that announces an enumeration: "a|b", "one of", "x, y or z".
ENUM_HELP = re.compile(r"\b\w+\|\w+\b|\bone of\b|\b\w+, \w+,? or \w+\b", re.IGNORECASE)
# Free-text values whose help names examples, not a closed list.
ENUM_HELP_OK: dict[tuple[str, str], str] = {
    ("pki revoke", "--serial"): "a number, in decimal or hex",
}

CODE = re.compile(r"^[a-z][a-z_]*(\.[a-z_]+)*$")


def _tree() -> list[tuple[str, Any]]:
    """(path, command) of every command that runs, every module loaded."""
    group = typer.main.get_command(app)
    assert isinstance(group, LazyGroup)
    for module in LAZY:
        group._load(module)

    def walk(cmd: Any, path: list[str]) -> Iterator[tuple[str, Any]]:
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                yield from walk(sub, [*path, name])
        else:
            yield " ".join(path), cmd

    return list(walk(group, []))


TREE = _tree()
PATHS = [path for path, _cmd in TREE]
COMMANDS = dict(TREE)


def _opt(param: Any) -> str:
    longs = [o for o in param.opts if o.startswith("--")]
    return longs[0] if longs else str(param.name)


def _has_json(path: str) -> bool:
    return any("--json" in p.opts for p in COMMANDS[path].params)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = run(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def _json_error(out: str) -> dict[str, str]:
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    doc = json.loads(lines[0])
    assert set(doc) == {"error"} and set(doc["error"]) >= {"code", "message"}, doc
    assert CODE.match(doc["error"]["code"]), doc
    assert doc["error"]["message"], doc
    return dict(doc["error"])


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_the_tree_is_walked() -> None:
    assert len(TREE) >= 60 and len(set(PATHS)) == len(PATHS)
    assert {"status", "peer remove", "outbox requeue", "report", "reconcile"} <= set(PATHS)
    for path in NO_JSON:
        assert path in COMMANDS, f"NO_JSON names {path}, which is no command"


# ---- examples ------------------------------------------------------------------------------


def _examples(help_text: str) -> list[str]:
    """The command lines of the help's Examples block (continuation lines joined)."""
    _, found, rest = help_text.partition("\b\nExamples:\n")
    assert found, "no '\\b' + 'Examples:' block"
    block = rest.split("\n\n")[0].replace("\\\n", " ")
    return [line.strip() for line in block.splitlines() if line.strip()]


@pytest.mark.parametrize("path", PATHS)
def test_help_has_examples_that_parse(path: str) -> None:
    cmd = COMMANDS[path]
    lines = _examples(cmd.help or "")
    assert lines, path
    for line in lines:
        words = shlex.split(line.rpartition(" | ")[2].partition(" > ")[0])
        prefix = ["ctop-node", *path.split()]
        assert words[: len(prefix)] == prefix, (path, line)
        # The example's arguments are this command's: parsing them raises no usage error.
        cmd.make_context(path.split()[-1], words[len(prefix) :])


def test_examples_show_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _err = _run(capsys, "peer", "remove", "--help")
    assert status == 0 and "Examples:" in out and "ctop-node peer remove CN" in out


# ---- --json --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_json_on_every_command_that_reports(path: str) -> None:
    assert _has_json(path) or path in NO_JSON, f"`{path}` has no --json: add it (JsonOpt)"
    assert not (_has_json(path) and path in NO_JSON), f"`{path}` has --json: not in NO_JSON"


# ---- checked choices -----------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_enumerated_options_are_checked_choices(path: str) -> None:
    for param in COMMANDS[path].params:
        name, desc = _opt(param), param.type_descriptor
        if (path, name) in OPEN_VALUES or desc.annotation is bool:
            continue
        if name in MUST_CHOOSE:
            assert desc.is_choice and desc.choices, f"{path} {name}: make it a checked choice"
        help_text = getattr(param, "help", None) or ""
        if ENUM_HELP.search(help_text) and (path, name) not in ENUM_HELP_OK:
            assert desc.is_choice, f"{path} {name}: help lists values ({help_text!r})"


def test_choices_equal_the_lists_the_code_uses() -> None:
    from ctop_node.access.consent import CONSENT_PURPOSES, PURPOSES
    from ctop_node.access.policy import TOKEN_SCOPES, USER_ROLES
    from ctop_node.cli.lock import ACTIONS, EVENTS, EventName
    from ctop_node.ingest.formats import READERS
    from ctop_node.model.outcome import OutcomeKind

    assert set(get_args(_common.FileFormat)) == set(READERS)
    assert set(get_args(_common.Outcome)) == {o.value for o in OutcomeKind}
    assert set(get_args(_common.Purpose)) == set(PURPOSES)
    assert set(get_args(_common.ConsentPurpose)) == set(CONSENT_PURPOSES)
    assert set(get_args(_common.UserRole)) == set(USER_ROLES)
    assert set(get_args(_common.TokenScope)) == set(TOKEN_SCOPES)
    assert set(get_args(EventName)) == {*ACTIONS, *EVENTS}


# ---- errors --------------------------------------------------------------------------------

JSON_PATHS = [p for p in PATHS if _has_json(p)]


@pytest.mark.parametrize("path", JSON_PATHS)
def test_usage_errors_stay_json(path: str, capsys: pytest.CaptureFixture[str]) -> None:
    words = path.split()
    status, out, err = _run(capsys, *words, "--no-such-option", "--json")
    assert status == 2 and "Traceback" not in err
    assert _json_error(out)["code"] == "usage.no_such_option"
    cmd = COMMANDS[path]
    if any(p.required for p in cmd.params):
        status, out, err = _run(capsys, *words, "--json")
        assert status == 2 and "Traceback" not in err
        assert _json_error(out)["code"] == "usage.missing"
    for param in cmd.params:
        if param.type_descriptor.is_choice and param.param_type_name == "option":
            # The bad value first: click checks parameters in the order they are given.
            status, out, err = _run(capsys, *words, _opt(param), "not-a-choice", "--json")
            assert status == 2 and "Traceback" not in err
            error = _json_error(out)
            assert error["code"] == "usage.bad_choice" and _opt(param) in error["message"]
        if param.type_descriptor.annotation in (int, float) and param.param_type_name == "option":
            status, out, err = _run(capsys, *words, _opt(param), "many", "--json")
            assert status == 2 and _json_error(out)["code"] == "usage.bad_value"


@pytest.mark.parametrize("path", PATHS)
def test_usage_errors_without_json_are_one_line(
    path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = _run(capsys, *path.split(), "--no-such-option")
    assert status == 2 and out == ""
    line = _one_error_line(err)
    assert line.startswith("Error: [usage.no_such_option]") and "--no-such-option" in line


def test_unknown_command_and_bad_argument(capsys: pytest.CaptureFixture[str]) -> None:
    status, _out, err = _run(capsys, "no-such-command")
    assert status == 2 and "[usage.no_such_command]" in _one_error_line(err)
    status, out, _err = _run(capsys, "lock", "event", "exploded", "--lock", "x", "--json")
    assert status == 2 and _json_error(out)["code"] == "usage.bad_choice"
    status, out, _err = _run(capsys, "tc", "diff", "one", "2", "--json")
    assert status == 2 and _json_error(out)["code"] == "usage.bad_value"


def _dummy(param: Any, tmp: Path) -> list[str]:
    """A value of the right type for a required parameter (files do not exist)."""
    desc = param.type_descriptor
    if desc.is_choice:
        value = str(getattr(desc.choices[0], "value", desc.choices[0]))
    elif desc.annotation in (int, float):
        value = "1"
    elif "datetime" in str(desc.annotation):
        value = "2026-11-01"
    elif "Path" in str(desc.annotation) or "path" in str(param.name):
        value = str(tmp / "missing" / f"{param.name}.file")
    else:
        value = "X1"
    return [value] if param.param_type_name == "argument" else [_opt(param), value]


# Commands that start servers, demos or new homes even without a node: not run below.
NOT_RUN = {"serve", "conformance serve", "watch", "demo", "lock demo", "init"}


@pytest.mark.parametrize("path", [p for p in JSON_PATHS if p not in NOT_RUN])
def test_operator_errors_stay_json(
    path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing home and files that do not exist: an error with a code, JSON, no traceback."""
    cmd = COMMANDS[path]
    args = [*path.split(), "--json"]
    for param in cmd.params:
        if param.required:
            args += _dummy(param, tmp_path)
    if any("--home" in p.opts for p in cmd.params):
        args += ["--home", str(tmp_path / "no-home")]
    status, out, err = _run(capsys, *args)
    assert "Traceback" not in err, err
    if status != 0:
        assert status in (1, 2), (status, out, err)
        _json_error(out)


def test_a_missing_home(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-home"
    for args, code in (
        (["peer", "list"], "config.no_node"),
        (["outbox", "requeue"], "config.no_party"),
        (["user", "list"], "config.no_home"),
        (["records", "list"], "store.missing"),
    ):
        status, out, err = _run(capsys, *args, "--home", str(missing), "--json")
        assert status == 1 and "Traceback" not in err
        error = _json_error(out)
        assert error["code"] == code and str(missing) in error["message"], error
        status, out, err = _run(capsys, *args, "--home", str(missing))
        assert status == 1 and out == "" and f"[{code}]" in _one_error_line(err)
    assert not missing.exists()  # nothing was made where the operator mistyped


@pytest.mark.parametrize("as_json", [True, False])
def test_a_file_that_cannot_be_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    args = ["evidence", "verify", str(folder), "--ca", str(folder)]
    status, out, err = _run(capsys, *args, *(["--json"] if as_json else []))
    assert status == 2
    if as_json:
        error = _json_error(out)
        assert error["code"] == "usage.file" and str(folder) in error["message"]
    else:
        assert out == "" and "[usage.file]" in _one_error_line(err)


@pytest.mark.parametrize(
    ("exc", "code", "status"),
    [
        (OSError(errno.EADDRINUSE, "Address already in use"), "config.port_in_use", 1),
        (
            ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
            "transport.unreachable",
            1,
        ),
        (PermissionError(errno.EACCES, "Permission denied", "/etc/x"), "usage.file", 2),
        (OSError(errno.ENOSPC, "No space left on device"), "store.os", 1),
        (KeyError("bug"), "ctop.internal", 70),
        (typer.Abort(), "usage.aborted", 2),
    ],
)
def test_classify(exc: BaseException, code: str, status: int) -> None:
    error, got = classify(exc)
    assert (error.code, got) == (code, status)


def test_a_bug_is_one_line_and_ctop_debug_shows_where(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ctop_node.cli import tc

    class Broken:
        @property
        def versions(self) -> Any:
            raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(tc, "DEFAULT_REGISTRY", Broken())
    status, out, err = _run(capsys, "tc", "versions", "--json")
    assert status == 70 and "Traceback" not in err
    error = _json_error(out)
    assert error["code"] == "ctop.internal" and "ZeroDivisionError" in error["message"]
    monkeypatch.setenv("CTOP_DEBUG", "1")
    status, out, err = _run(capsys, "tc", "versions")
    assert status == 70 and "Traceback" in err and "[ctop.internal]" in err


# ---- version, help, serve ------------------------------------------------------------------


def test_version_and_no_command(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    status, out, _err = _run(capsys, "--version")
    assert status == 0 and out.strip() == f"ctop-node {version('ctop-node')}"
    status, out, _err = _run(capsys)
    assert status == 2 and "Commands" in out


def _ctop(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ctop_node", *args], capture_output=True, text=True, timeout=120
    )


def _node_with_a_peer(tmp_path: Path, peer_port: int) -> Path:
    """A KZ home listening on ``peer_port`` with CN as its peer, trust exchanged."""
    runner, homes = CliRunner(), {p: tmp_path / p.lower() for p in ("KZ", "CN")}
    for party, home in homes.items():
        port = str(peer_port if party == "KZ" else 1)
        init = ["init", "--party", party, "--home", str(home), "--peer-port", port]
        assert runner.invoke(app, init).exit_code == 0
        bundle = tmp_path / f"{party}.trust.json"
        export = ["pki", "export-trust", "--out", str(bundle), "--home", str(home)]
        assert runner.invoke(app, export).exit_code == 0
    imported = ["pki", "import-trust", str(tmp_path / "CN.trust.json"), "--home", str(homes["KZ"])]
    assert runner.invoke(app, imported).exit_code == 0
    add = ["peer", "add", "CN", "--url", "https://127.0.0.1:1", "--home", str(homes["KZ"])]
    assert runner.invoke(app, add).exit_code == 0
    return homes["KZ"]


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_serve_on_a_taken_port_is_one_error(tmp_path: Path, log_format: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        home = _node_with_a_peer(tmp_path, port)
        done = _ctop("serve", "--home", str(home), "--log-format", log_format)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    if log_format == "json":
        line = json.loads(last)
        assert line["level"] == "error" and line["code"] == "config.port_in_use"
        assert f"127.0.0.1:{port}" in line["event"]
    else:
        assert "[config.port_in_use]" in last and f"127.0.0.1:{port}" in last


def test_serve_log_options_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    serve = COMMANDS["serve"]
    choices = {_opt(p): p.type_descriptor.choices for p in serve.params}
    assert {str(c) for c in choices["--log-format"]} == {"json", "text"}
    assert {str(c) for c in choices["--log-level"]} == {"debug", "info", "warning", "error"}
    status, _out, err = _run(capsys, "serve", "--log-level", "verbose")
    assert status == 2 and "--log-level" in _one_error_line(err)


def test_help_starts_in_under_half_a_second() -> None:
    """CPU time of `ctop-node --help` (the wall time on a shared machine is mostly waiting)."""
    import resource

    spent = []
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = _ctop("--help")
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        assert done.returncode == 0 and "Commands" in done.stdout
        spent.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    assert min(spent) < 0.5, spent
