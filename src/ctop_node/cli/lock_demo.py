"""The smart-lock part of the demo: one train whose link is cut, part of it goes by lock.

Two real nodes (KZ, CN) start; CN is stopped (the link is cut); KZ's clearance system posts
one train whose containers with smart locks ask for the lock channel too; KZ's officer writes
those records to their locks (``lock pending`` then ``lock write``); one lock is forced on
the way; the lock files are "carried" (copied) and read at CN while the link is still down;
then CN comes back, KZ's sender delivers the online copies by itself, and the verdicts are
counted from CN's database.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from ctop_node.config import NodeConfig
from ctop_node.crypto.keyset import node_keys
from ctop_node.errors import CtopError
from ctop_node.i18n import _
from ctop_node.localnet import LocalNode, create_nodes, stop_all
from ctop_node.lock.carrier import CarrierCA, save_carrier
from ctop_node.lock.carriers import trust_carrier, trusted_carriers
from ctop_node.lock.device import LockDevice
from ctop_node.lock.errors import CapacityError
from ctop_node.lock.events import EventCode, position_data
from ctop_node.lock.pending import pending_locks
from ctop_node.lock.reader import LockReader
from ctop_node.lock.reconcile import verdict_counts
from ctop_node.lock.writer import write_record
from ctop_node.sample import generate
from ctop_node.store import open_store


def _train(seed: int) -> list[dict[str, Any]]:
    """One sample train from KZ, crossing tomorrow; every container with a lock asks for both."""
    crossing = (datetime.now(UTC) + timedelta(days=1)).isoformat(timespec="seconds")
    recs = []
    for r in generate(
        1, seed, party="KZ", invalid_share=0, excluded_share=0, not_applicable_share=0
    ):
        r["train"]["planned_crossing_at"] = crossing
        if any(c.get("smart_lock_id") for c in r.get("containers", [])):
            r["channel"] = "both"
        recs.append(r)
    return recs


def _post(node: LocalNode, recs: list[dict[str, Any]]) -> dict[str, Any]:
    r = httpx.post(
        f"{node.api_url}/api/v1/records",
        content=b"".join(orjson.dumps(x) + b"\n" for x in recs),
        headers={"Authorization": f"Bearer {node.token}", "Content-Type": "application/x-ndjson"},
        timeout=120,
    )
    r.raise_for_status()
    result: dict[str, Any] = r.json()
    return result


def _wait(what: str, cond: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise CtopError(f"lock demo: not within {timeout} s: {what}", code="demo.timeout")
        time.sleep(0.1)  # polling a condition with a deadline


def run_lock_demo(
    base: Path, *, seed: int = 2021, timeout: float = 120.0, say: Callable[[str], None]
) -> dict[str, Any]:
    """Run the scenario under ``base``; returns the verdict counts and what travelled how."""
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    nodes = create_nodes(base.resolve())
    kz, cn = nodes["KZ"], nodes["CN"]
    try:
        for node in (kz, cn):
            node.start()
        for node in (kz, cn):
            node.wait_ready(timeout)
        cn.stop()
        say(_("Lock demo: link cut (CN stopped)"))
        recs = _train(seed)
        ingested = _post(kz, recs)
        with open_store(kz.db_url, migrate=False) as kz_store:
            box = kz_store.outbox_queue
            _wait(
                "KZ notices CN is down", lambda: box.circuit("CN").consecutive_failures > 0, timeout
            )
            todo = pending_locks(kz_store, now=datetime.now(UTC), fallback=timedelta(0))
            carrier = CarrierCA.create("KTZ Express lock CA")
            save_carrier(carrier, base / "carrier")
            locks: list[Path] = []
            kz_config = NodeConfig.load(kz.home)
            for item in todo:
                if not item.lock_ids:
                    continue
                path = base / "locks" / f"{item.lock_ids[0]}.lock"
                path.parent.mkdir(exist_ok=True)
                if path.exists():  # two containers of one record on one lock: once
                    continue
                LockDevice.provision(item.lock_ids[0], carrier).save(path)
                try:
                    write_record(kz_config, kz_store, item.record_id, path, peer=item.peer)
                except CapacityError:  # as the error proposes: summary and digest on the lock
                    write_record(
                        kz_config, kz_store, item.record_id, path, peer=item.peer, mode="digest"
                    )
                device = LockDevice.load(path)
                device.record(EventCode.POSITION, position_data(45.2, 82.5))
                device.save()
                locks.append(path)
        say(
            _("KZ: {read} records, {locks} written to smart locks while CN is unreachable").format(
                read=ingested["read"], locks=len(locks)
            )
        )
        if locks:
            forced = LockDevice.load(locks[-1])
            forced.record(EventCode.HOUSING_BROKEN)
            forced.save()
            say(_("On the way: lock {lock_id} forced open").format(lock_id=forced.lock_id))
        # Carried to CN: the files are copied, the reader pulls them while the link is down.
        trust_carrier(cn.home, base / "carrier" / "carrier-ca.pem")
        carried = base / "carried"
        carried.mkdir()
        with open_store(cn.db_url) as cn_store:
            keys = node_keys(cn.home)
            reader = LockReader(
                "CN",
                cn_store,
                keys.signer,
                keys.decryptor,
                keys.trust,
                trusted_carriers(cn.home),
            )
            for lock in locks:
                device = LockDevice.load(lock)
                nonce = reader.challenge()
                image = device.read_by_authority("CN-KHORGOS-R1", nonce=nonce)
                (carried / lock.name).write_bytes(image)
                reader.read(image, reader_id="CN-KHORGOS-R1", nonce=nonce)
            before = verdict_counts(cn_store)
        say(
            _("CN read {n} locks while the link was down: {counts}").format(
                n=len(locks), counts=_fmt(before)
            )
        )
        cn.start()
        cn.wait_ready(timeout)
        with open_store(kz.db_url, migrate=False) as kz_store:
            box = kz_store.outbox_queue
            _wait("KZ's outbox drained", lambda: box.counts().get("pending", 0) == 0, timeout)
            delivered = box.counts().get("delivered", 0)
        with open_store(cn.db_url, migrate=False) as cn_store:
            after = verdict_counts(cn_store)
        say(
            _(
                "Link back: {delivered} online copies delivered with signed receipts; "
                "verdicts {counts}"
            ).format(delivered=delivered, counts=_fmt(after))
        )
        return {
            "locks_written": len(locks),
            "delivered_online": delivered,
            "verdicts_before_link": before,
            "verdicts": after,
        }
    finally:
        stop_all(nodes)


def _fmt(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items() if v) or "-"
