"""The README's "Confidentiality" walk, run line by line as written, at the CN node of two
real nodes that exchanged the README's record (``KZ-551800-2026-000001``): ``/srv/ctop`` is
CN's home, files land in a working directory, passwords come on stdin. A line commented
``# refused`` must exit 1; every other line must exit 0. Afterwards the chain holds what the
walk did, by whom, and still verifies; the files verified offline are the ones written.

Commands act as the users the walk creates (``--user``), checked against the permission
table: the auditor's attempt to read a record is refused and audited like a missing consent.

The only liberty taken: a ``--valid-until`` day already past is moved a month ahead, so the
README's example date does not rot the test; and ``retention_days`` is set in node.json, as
the README's comment says."""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ctop_node.store.audit import AuditLog
from tests.e2e.conftest import Pair

README = Path(__file__).parents[2] / "README.md"
HOME = "/srv/ctop"
PASSWORD = "a long enough passphrase\n"


def steps() -> list[tuple[list[str], bool]]:
    """(argv, refused) of each command of the section's shell block, in order."""
    text = README.read_text("utf-8")
    section = text[text.index("## Confidentiality") :]
    section = section[: section.index("\n## ", 1)]
    begin = section.index("```sh") + len("```sh")
    block = section[begin : section.index("```", begin)]
    out = []
    for line in block.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        command, _, comment = line.partition("  # ")
        out.append((shlex.split(command), comment.strip().startswith("refused")))
    return out


def _future(argv: list[str]) -> list[str]:
    out = list(argv)
    for i, a in enumerate(out[:-1]):
        if a == "--valid-until" and date.fromisoformat(out[i + 1]) <= datetime.now(UTC).date():
            out[i + 1] = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    return out


def test_the_readme_confidentiality_walk(
    pair: Pair, record_dict: dict[str, Any], tmp_path: Path
) -> None:
    pair.ingest(pair.kz, [record_dict])
    pair.wait_drained()
    assert [r.record_id for r in pair.received()] == [record_dict["record_id"]]
    # As the README's comment says: the retention period is set in node.json.
    config = pair.cn.home / "node.json"
    config.write_text(
        json.dumps({**json.loads(config.read_text("utf-8")), "retention_days": 365}), "utf-8"
    )
    work = tmp_path / "auditor"
    work.mkdir()
    home = str(pair.cn.home)
    ran: list[tuple[str, ...]] = []
    for argv, refused in steps():
        assert argv[0] == "ctop-node", argv
        args = [re.sub(rf"^{re.escape(HOME)}", home, a) for a in _future(argv[1:])]
        done = subprocess.run(
            [sys.executable, "-m", "ctop_node", *args],
            cwd=work,
            input=PASSWORD if "--password-stdin" in args else None,
            capture_output=True,
            text=True,
            timeout=120,
        )
        expected = 1 if refused else 0
        assert done.returncode == expected, (args, done.stdout, done.stderr)
        if refused:
            # Refused for want of a consent, or by the permission table (the comment says so).
            assert "Traceback" not in done.stderr, done.stderr
            assert "consent" in done.stderr.lower() or "access.denied" in done.stderr, done.stderr
            assert record_dict["record_id"] not in done.stdout, done.stdout
        ran.append(tuple(args[:2]))

    # The walk covers what an auditor must be able to do.
    for needed in (
        ("user", "add"),
        ("consent", "add"),
        ("consent", "list"),
        ("consent", "revoke"),
        ("records", "export"),
        ("evidence", "pack"),
        ("evidence", "verify"),
        ("purge", "--home"),
        ("audit", "verify"),
        ("audit", "export"),
        ("audit", "verify-export"),
    ):
        assert needed in ran, f"the README walk lacks {' '.join(needed)}"

    for name in ("court.json", "evidence.zip", "audit-1-6.json"):
        assert stat.S_IMODE((work / name).stat().st_mode) == 0o600, name
    assert not (work / "late.zip").exists()
    exported = json.loads((work / "court.json").read_text("utf-8"))
    assert "KZ-MF/17" in json.dumps(exported, ensure_ascii=False)

    # The chain holds the walk, by the users who did it, and still verifies.
    entries = AuditLog(pair.engine(pair.cn)).entries()
    did = [(e.actor, e.action) for e in entries]
    for step in (
        ("sup1", "records.export_refused"),
        ("sup1", "consent.add"),
        ("sup1", "records.export"),
        ("sup1", "evidence.export"),
        ("sup1", "consent.revoke"),
        ("sup1", "evidence.refused"),
        ("audit1", "access.denied"),
        ("admin1", "records.purge"),
    ):
        assert step in did, (step, did)
    verify = subprocess.run(
        [sys.executable, "-m", "ctop_node", "audit", "verify", "--home", home, "--json"],
        env={**os.environ, "CTOP_USER": "audit1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
