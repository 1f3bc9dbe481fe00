"""The README's "Two Parties, two machines" steps, run as written (with the two homes in a
tmp dir and the fingerprints that the commands print), up to ``serve``: the TLS
certificates name the hosts the peers dial and each side pinned the other's CA. Serving
under another name than localhost is proven in ``test_pki_tls_names.py``."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from ctop_node.crypto.names import tls_names_of
from ctop_node.crypto.node import NodePaths
from ctop_node.crypto.pki import load_certificate
from ctop_node.online.peers import PeerConfig

README = Path(__file__).parents[2] / "README.md"
FP = re.compile(r"((?:[0-9a-f]{2}:){31}[0-9a-f]{2})")


def _steps() -> list[tuple[str, list[str]]]:
    """(side, argv) of each command of the section, in order; side is KZ (left column) or
    CN (right column)."""
    text = README.read_text("utf-8")
    section = text[text.index("## Two Parties, two machines") :]
    block = section[section.index("```sh") + 5 : section.index("```", section.index("```sh") + 5)]
    steps = []
    for line in block.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = re.split(r"\s{2,}(?=ctop-node)", line)
        if line.startswith("ctop-node"):
            steps.append(("KZ", parts[0]))
            steps.extend(("CN", p) for p in parts[1:])
        else:
            steps.append(("CN", line.strip()))
    return [
        (side, shlex.split(re.sub(r"<(KZ|CN)'s fingerprint>", r"@FP_\1@", c))) for side, c in steps
    ]


def test_readme_two_machine_steps(tmp_path: Path) -> None:
    homes = {"KZ": tmp_path / "kz", "CN": tmp_path / "cn"}
    files = tmp_path / "exchange"
    files.mkdir()
    printed: dict[str, str] = {}
    ran = []
    for side, argv in _steps():
        assert argv[0] == "ctop-node"
        if argv[1] == "serve":
            continue
        args = [str(homes[side]) if a == "/srv/ctop" else a for a in argv[1:]]
        for party in ("KZ", "CN"):
            args = [printed.get(party, a) if a == f"@FP_{party}@" else a for a in args]
        done = subprocess.run(
            [sys.executable, "-m", "ctop_node", *args],
            cwd=files,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        if args[0] == "init":
            printed[side] = FP.findall(done.stdout)[-1]
        ran.append(args[0] if args[0] != "pki" else args[1])
    assert ran.count("import-trust") == 2 and ran.count("peer") == 2
    for party, host in (("KZ", "kz-node"), ("CN", "cn-node")):
        tls = load_certificate(NodePaths(homes[party]).tls_cert)
        assert tls_names_of(tls) == ([host], [])
    assert PeerConfig.load(homes["KZ"]).endpoints["CN"].url == "https://cn-node:8443"
    assert PeerConfig.load(homes["CN"]).endpoints["KZ"].url == "https://kz-node:8443"
