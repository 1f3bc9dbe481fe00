"""Smart-lock payload: size on the lock and encode / read+verify+decrypt times, and the
whole arrival reading: image + device log verification, then decrypt + validate + store.

    .venv/bin/python bench/lock.py

Records of 1, 10, 50 and 200 goods items (varied descriptions, HS codes and values, so
compression is not flattered), full mode and digest mode; keys made fresh in a temp dir.
The arrival reading (``LockReader.read``: image, log chain and device signatures, customs
signature, decryption, validation, one inbox transaction + lock read row on SQLite) is timed
over READS distinct locks per size, each read once, as at a border reader.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from ctop_node.crypto.node import init_node
from ctop_node.crypto.software import SoftwareDecryptor, SoftwareSigner
from ctop_node.crypto.trust import BundleTrustStore, export_trust, import_trust
from ctop_node.lock.carrier import CarrierCA
from ctop_node.lock.codec import encode_payload, open_payload
from ctop_node.lock.device import LockDevice
from ctop_node.lock.events import EventCode, position_data
from ctop_node.lock.image import read_image
from ctop_node.lock.reader import LockReader
from ctop_node.model.record import Consignment
from ctop_node.store import open_store

DATA = Path(__file__).parents[1] / "tests" / "data" / "record_kz_cn.json"
GOODS = [
    ("100199", "Wheat, other than durum"),
    ("120510", "Low erucic acid rape or colza seeds"),
    ("720839", "Flat-rolled iron, hot-rolled, in coils, < 3 mm"),
    ("760110", "Unwrought aluminium, not alloyed"),
    ("281820", "Aluminium oxide, other than artificial corundum"),
    ("740311", "Refined copper cathodes and sections of cathodes"),
    ("271019", "Medium oils and preparations, other"),
    ("230641", "Oilcake of low erucic acid rape seeds"),
]


def record(items: int, rng: random.Random) -> Consignment:
    data: dict[str, Any] = json.loads(DATA.read_text("utf-8"))
    base = data["goods"][0]
    goods = []
    for _ in range(items):
        hs, text = rng.choice(GOODS)
        gross = rng.randint(10_000, 99_999)
        goods.append(
            {
                **base,
                "hs_code": hs,
                "description": f"{text}, lot {rng.randint(1, 99999)}",
                "packages": rng.randint(1, 400),
                "gross_mass_kg": f"{gross / 1000:.3f}",
                "net_mass_kg": f"{gross * 0.97 / 1000:.3f}",
                "value": f"{rng.randint(100, 10**6) / 100:.2f}",
                "quantity": f"{gross / 1000:.3f}",
            }
        )
    data["goods"] = goods
    return Consignment.model_validate(data)


def timed(fn: Any, n: int) -> float:
    runs = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs) * 1000


READS = 50
# One challenge for every bench reading (the nonce check costs the same for any value).
BENCH_NONCE = "bench-reading-nonce-0001"


def median_ms(runs: list[float]) -> float:
    return statistics.median(runs) * 1000


def locks_for(rec: Consignment, n: int, carrier: CarrierCA, seal: Any) -> list[bytes]:
    """``n`` travelled locks, each with its own record id, as a reader pulls them."""
    now = datetime.now(UTC)
    images = []
    for i in range(n):
        lock_id = f"LOCK-B{i:04d}"
        one = rec.model_copy(update={"record_id": f"{rec.record_id}-{len(rec.goods)}-{i:04d}"})
        device = LockDevice.provision(lock_id, carrier, now=now - timedelta(hours=2))
        device.write_payload(seal(one, lock_id), now=now - timedelta(hours=1))
        device.seal(now=now - timedelta(minutes=59))
        for minute in range(50, 0, -10):  # a journey: five GNSS fixes
            device.record(
                EventCode.POSITION, position_data(44.0, 80.0), now=now - timedelta(minutes=minute)
            )
        images.append(device.read_by_authority("CN-R1", nonce=BENCH_NONCE, now=now))
    return images


def main() -> None:
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for party in ("KZ", "CN"):
            init_node(root / party, party)
        for a, b in (("KZ", "CN"), ("CN", "KZ")):
            export_trust(root / a, root / f"{a}.json")
            import_trust(root / b, root / f"{a}.json", own_party=b)
        signer = SoftwareSigner.from_home(root / "KZ")
        recipient = BundleTrustStore.from_home(root / "KZ").recipient_key("CN")
        trust, decryptor = (
            BundleTrustStore.from_home(root / "CN"),
            SoftwareDecryptor.from_home(root / "CN"),
        )
        expires = datetime.now(UTC) + timedelta(days=7)
        carrier = CarrierCA.create("bench carrier", now=datetime.now(UTC) - timedelta(days=1))
        store = open_store(f"sqlite:///{root / 'cn.db'}")
        reader = LockReader(
            "CN",
            store,
            SoftwareSigner.from_home(root / "CN"),
            decryptor,
            trust,
            [carrier.certificate],
        )
        print(
            f"{'items':>5} {'json B':>8} {'full B':>7} {'digest B':>8} "
            f"{'encode ms':>9} {'read ms':>8} {'log ms':>7} {'arrival ms':>10}"
        )
        for items in (1, 10, 50, 200):
            rec = record(items, rng)

            def enc(mode: Literal["full", "digest"] = "full", rec: Consignment = rec) -> bytes:
                return encode_payload(
                    rec,
                    version=1,
                    signer=signer,
                    recipient=recipient,
                    lock_id="LOCK-0001",
                    counter=1,
                    expires=expires,
                    mode=mode,
                    capacity=1 << 20,
                )

            full, digest = enc(), enc("digest")
            t_enc = timed(enc, 200)
            t_read = timed(lambda full=full: open_payload(full, trust, decryptor, party="CN"), 200)
            size_json = len(rec.model_dump_json(exclude_none=True))

            def seal(one: Consignment, lock_id: str) -> bytes:
                return encode_payload(
                    one,
                    version=1,
                    signer=signer,
                    recipient=recipient,
                    lock_id=lock_id,
                    counter=1,
                    expires=expires,
                    capacity=1 << 20,
                )

            images = locks_for(rec, READS, carrier, seal)
            t_log = timed(lambda img=images[0]: read_image(img).verify([carrier.certificate]), 200)
            arrival = []
            for img in images:
                t = time.perf_counter()
                result = reader.read(img, reader_id="CN-R1", nonce=BENCH_NONCE)
                arrival.append(time.perf_counter() - t)
                assert result.inbox_state == "applied", result
            print(
                f"{items:>5} {size_json:>8} {len(full):>7} {len(digest):>8} "
                f"{t_enc:>9.3f} {t_read:>8.3f} {t_log:>7.3f} {median_ms(arrival):>10.3f}"
            )
        store.close()


if __name__ == "__main__":
    main()
