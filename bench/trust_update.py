"""Trust update benchmark: size of an update and the time to build (sender) and to verify
and apply it (receiver), with the same run's baseline of one envelope ``open_``.

    .venv/bin/python bench/trust_update.py [--rounds N] [--rotations R]

An update is sent when trust material changes and every 6 hours: these figures show it is
negligible next to the message traffic, and bound what one authenticated peer can cost by
posting updates in a loop.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ctop_node.crypto.envelope import EnvelopeHeader, open_, seal
from ctop_node.crypto.node import init_node, rotate_keys
from ctop_node.crypto.software import SoftwareDecryptor, SoftwareSigner
from ctop_node.crypto.trust import BundleTrustStore, export_trust, import_trust
from ctop_node.crypto.trust_update import apply_update, build_update
from ctop_node.model.messages import MessageType


def _per_call_ms(rounds: int, call: Callable[[], object]) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        call()
    return (time.perf_counter() - start) / rounds * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--rotations", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        kz, cn = Path(tmp) / "kz", Path(tmp) / "cn"
        kz_ca = init_node(kz, "KZ")
        init_node(cn, "CN")
        for src, dst, party in ((kz, cn, "CN"), (cn, kz, "KZ")):
            export_trust(src, Path(tmp) / "b.json")
            import_trust(dst, Path(tmp) / "b.json", own_party=party)
        for _ in range(args.rotations):
            rotate_keys(kz, kz_ca)
        signer = SoftwareSigner.from_home(kz)
        raw = build_update(kz, signer, "CN")
        apply_update(cn, raw, "CN")  # the next ones are "unchanged": same work
        header = EnvelopeHeader.new(
            MessageType.CONSIGNMENT, sender="KZ", recipient="CN", tc_version="1"
        )
        trust, decryptor = BundleTrustStore.from_home(cn), SoftwareDecryptor.from_home(cn)
        message = seal(header, b"x" * 2000, signer, trust.recipient_key("CN"))
        baseline = _per_call_ms(args.rounds, lambda: open_(message, trust, decryptor, "CN"))
        build = _per_call_ms(args.rounds, lambda: build_update(kz, signer, "CN"))
        apply = _per_call_ms(args.rounds, lambda: apply_update(cn, raw, "CN"))
    print(f"trust update: {len(raw)} bytes after {args.rotations} rotation(s)")
    print(f"build {build:.2f} ms, verify+apply {apply:.2f} ms per update")
    print(
        f"baseline: open_ of one 2 kB message {baseline:.2f} ms (apply = {apply / baseline:.0f}x)"
    )


if __name__ == "__main__":
    main()
