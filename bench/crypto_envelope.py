"""Per-message cost of the envelope: seal (sign + encrypt) and open (verify + decrypt).

    .venv/bin/python bench/crypto_envelope.py [--n 5000] [--size 2048]

Makes a fresh KZ and CN node in a temporary directory, exchanges trust bundles, then times
``seal`` at KZ and ``open_`` at CN for a payload of ``--size`` bytes. Prints µs per message
(median of 5 rounds) and the envelope overhead in bytes.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from ctop_node.crypto import (
    BundleTrustStore,
    EnvelopeHeader,
    SoftwareDecryptor,
    SoftwareSigner,
    open_,
    seal,
)
from ctop_node.crypto.node import init_node
from ctop_node.crypto.trust import export_trust, import_trust
from ctop_node.model.messages import MessageType


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--size", type=int, default=2048)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for party in ("KZ", "CN"):
            init_node(root / party, party)
            export_trust(root / party, root / f"{party}.json")
        import_trust(root / "KZ", root / "CN.json", own_party="KZ")
        import_trust(root / "CN", root / "KZ.json", own_party="CN")
        signer = SoftwareSigner.from_home(root / "KZ")
        recipient = BundleTrustStore.from_home(root / "KZ").recipient_key("CN")
        trust = BundleTrustStore.from_home(root / "CN")
        decryptor = SoftwareDecryptor.from_home(root / "CN")

    payload = b"x" * args.size

    def header() -> EnvelopeHeader:
        return EnvelopeHeader.new(
            MessageType.CONSIGNMENT,
            sender="KZ",
            recipient="CN",
            tc_version="1",
            record_id="KZ-2026-000001",
            version=1,
        )

    headers = [header() for _ in range(args.n)]
    seal_us, open_us = [], []
    for _ in range(5):
        start = time.perf_counter()
        sealed = [seal(h, payload, signer, recipient) for h in headers]
        seal_us.append((time.perf_counter() - start) / args.n * 1e6)
        start = time.perf_counter()
        for data in sealed:
            open_(data, trust, decryptor, "CN")
        open_us.append((time.perf_counter() - start) / args.n * 1e6)
    plain = seal(headers[0], payload, signer, None, plaintext=True)
    print(f"payload {args.size} B, {args.n} messages x 5 rounds (median)")
    print(f"seal  (sign + encrypt):  {statistics.median(seal_us):7.1f} µs/message")
    print(f"open_ (verify + decrypt): {statistics.median(open_us):7.1f} µs/message")
    print(
        f"envelope overhead: {len(sealed[0]) - args.size} B encrypted, "
        f"{len(plain) - args.size} B plaintext"
    )


if __name__ == "__main__":
    main()
