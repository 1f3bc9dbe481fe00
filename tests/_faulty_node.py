"""A test-only entry point: ``python -m tests._faulty_node --home H --crash-after-commit N``
runs the node exactly as ``ctop-node serve`` does, with faults injected through the
``faults=`` parameter of :class:`ctop_node.server.NodeServer` (see ``tests/_faults.py``).
Production has no such switch: no environment variable can crash a node."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from ctop_node.config import NodeConfig
from ctop_node.server import NodeServer
from tests._faults import CrashAfterCommit


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests._faulty_node")
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--crash-after-commit", type=int, required=True, metavar="N")
    args = parser.parse_args(argv)
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s %(message)s")
    faults = CrashAfterCommit(args.crash_after_commit)
    NodeServer(NodeConfig.load(args.home), faults=faults).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
