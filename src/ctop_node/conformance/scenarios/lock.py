"""The smart-lock copy of a record version read first, then the online copy of it.

The kit writes a lock image as departure customs would (payload sealed to the peer and
signed by the kit's node key, written through a lock whose device certificate comes from the
kit's carrier CA, then sealed), and has the peer's arrival customs read it with the command
given as ``--lock-reader`` (``{image}`` is replaced by the image path; the peer must trust
``conformance/carrier/carrier-ca.pem``). The online copy of the same version then comes in
under its own message id: the receiver stores the version once and says so.
"""

from __future__ import annotations

import shlex
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from ctop_node.conformance import records
from ctop_node.conformance.judge import receipt
from ctop_node.conformance.scenario import Context, Request, Scenario, Step, batch
from ctop_node.lock.codec import encode_payload
from ctop_node.lock.device import LockDevice

READ_TIMEOUT_S = 120.0


def write_image(ctx: Context, out: Path) -> Path:
    """A sealed lock holding version 1 of the scenario's record, saved at ``out``."""
    kit = ctx.sealer.kit
    data = ctx.record()
    canonical = orjson.loads(records.body(data))
    lock_id = f"LOCK-CONF-{ctx.run_tag}-{ctx.number:02d}"
    now = datetime.now(UTC)
    device = LockDevice.provision(lock_id, kit.carrier())
    payload = encode_payload(
        canonical,
        version=1,
        signer=kit.signer(),
        recipient=kit.recipient_key(ctx.peer),
        lock_id=lock_id,
        counter=int(now.timestamp() * 1000),
        expires=now + timedelta(days=30),
        capacity=device.capacity,
        tc=ctx.sealer.tc_version,
    )
    device.write_payload(payload, now=now)
    device.seal(now=now)
    out.parent.mkdir(parents=True, exist_ok=True)
    return device.save(out)


def _read_by_peer(ctx: Context) -> list[str]:
    command: str = ctx.options["lock_reader"]
    image = write_image(ctx, ctx.sealer.kit.dir / "locks" / f"{ctx.record_id()}.lock")
    argv = [part.replace("{image}", str(image)) for part in shlex.split(command)]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=READ_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [f"the lock reader command could not run: {exc}"]
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace")[-400:]
        return [f"expected the peer to read the lock (exit 0), got exit {done.returncode}: {tail}"]
    return []


def _online_copy(ctx: Context) -> Request:
    return batch(ctx.version(1))


SCENARIOS = (
    Scenario(
        36,
        "lock_then_online",
        "record v1 written to a smart lock and read by the peer (--lock-reader), then the "
        "online copy of the same version under its own message id",
        "the lock reading stores v1; the online copy gets a RECEIPT with status duplicate",
        (
            Step("the peer reads the lock image", action=_read_by_peer),
            Step("the online copy of v1", _online_copy, (receipt("duplicate"),)),
        ),
        needs="lock_reader",
    ),
)
