"""Coverage-guided fuzzing (atheris / libFuzzer) of what the arrival reader does with a lock.

Every input is given to both untrusted-input entry points of the lock channel:

- the lock image: ``read_image`` then ``LockImage.verify`` (device certificate, log chain),
- the payload: ``open_payload`` (clear header, HPKE decryption, customs signature, record).

Anything but a ``LockError`` is a crash that libFuzzer reports with the input that caused it.
The seed corpus is a genuine image and a genuine payload, so mutations start from valid
structure. atheris is not a project dependency: install it into the venv to run this.

    .venv/bin/pip install atheris
    .venv/bin/python bench/fuzz_lock.py -runs=100000        # libFuzzer options pass through
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

try:
    import atheris
except ImportError:  # pragma: no cover - depends on the environment
    atheris = None


def _setup(work: Path) -> tuple[Any, ...]:
    from ctop_node.crypto.node import init_node
    from ctop_node.crypto.software import SoftwareDecryptor, SoftwareSigner
    from ctop_node.crypto.trust import BundleTrustStore, export_trust, import_trust
    from ctop_node.lock.carrier import CarrierCA
    from ctop_node.lock.codec import encode_payload
    from ctop_node.lock.device import LockDevice
    from ctop_node.lock.events import EventCode, position_data
    from ctop_node.sample import generate

    now = datetime.now(UTC)
    for party in ("KZ", "CN"):
        init_node(work / party, party)
    for a, b in (("KZ", "CN"), ("CN", "KZ")):
        export_trust(work / a, work / f"{a}.json")
        import_trust(work / b, work / f"{a}.json", own_party=b)
    record = next(r for r in generate(1, 7, party="KZ") if r.get("sender_party") == "KZ")
    cn_trust = BundleTrustStore.from_home(work / "CN")
    payload = encode_payload(
        record,
        version=1,
        signer=SoftwareSigner.from_home(work / "KZ"),
        recipient=BundleTrustStore.from_home(work / "KZ").recipient_key("CN"),
        lock_id="LOCK-FUZZ",
        counter=1,
        expires=now + timedelta(days=7),
    )
    ca = CarrierCA.create("fuzz carrier", now=now - timedelta(days=1))
    device = LockDevice.provision("LOCK-FUZZ", ca, now=now - timedelta(hours=1))
    device.write_payload(payload, now=now - timedelta(minutes=50))
    device.seal(now=now - timedelta(minutes=40))
    device.record(EventCode.POSITION, position_data(43.2, 76.9), now=now - timedelta(minutes=30))
    image = device.read_by_authority(
        "CN-R1", nonce="fuzz-reading-nonce-01", now=now - timedelta(minutes=1)
    )
    return image, payload, ca.certificate, cn_trust, SoftwareDecryptor.from_home(work / "CN")


def main() -> int:
    if atheris is None:
        print("atheris is not installed: `.venv/bin/pip install atheris` to run this fuzzer")
        return 0
    # Instrument before anything imports them: coverage guidance needs the lock and crypto code.
    with atheris.instrument_imports(include=["ctop_node.lock", "ctop_node.crypto", "cbor2"]):
        import ctop_node.lock.codec
        import ctop_node.lock.image  # noqa: F401
    work = Path(tempfile.mkdtemp(prefix="ctop-fuzz-lock-"))
    image, payload, ca_cert, trust, decryptor = _setup(work)
    corpus = work / "corpus"
    corpus.mkdir()
    (corpus / "image").write_bytes(image)
    (corpus / "payload").write_bytes(payload)

    from ctop_node.errors import LockError
    from ctop_node.lock.codec import open_payload
    from ctop_node.lock.image import read_image

    at = datetime.now(UTC)
    counts = {"cases": 0, "image_ok": 0, "payload_ok": 0}

    def one_input(data: bytes) -> None:
        counts["cases"] += 1
        try:
            read_image(data).verify([ca_cert], at=at)
            counts["image_ok"] += 1
        except LockError:
            pass
        try:
            open_payload(data, trust, decryptor, party="CN", at=at)
            counts["payload_ok"] += 1
        except LockError:
            pass

    args = [sys.argv[0], *sys.argv[1:], str(corpus)]
    if not any(a.startswith("-runs=") for a in args):
        args.insert(1, "-runs=100000")
    atheris.Setup(args, one_input)
    try:
        atheris.Fuzz()
    finally:
        print(f"fuzz_lock: {counts}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
