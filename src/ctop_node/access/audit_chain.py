"""The audit chain's writer: one entry per Art.6 event (who, what, when, from where, why),
linked by :mod:`ctop_node.access.audit_rule`, and a checkpoint signed by the node key every
``checkpoint_every`` entries (and on demand).

``record(...)`` is the one service function the CLI, the API and the UI call for every read
of peer data, export, refusal, consent change and purge. Entries never carry record content:
``detail`` holds identifiers, counts and references only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson
from cryptography.hazmat.primitives.serialization import Encoding

from ctop_node.access.audit_rule import GENESIS, chain_digest, checkpoint_payload, detail_digest
from ctop_node.crypto.cose import sign1
from ctop_node.crypto.interfaces import Signer
from ctop_node.crypto.pki import party_of
from ctop_node.errors import StorageError
from ctop_node.store import SqlStore
from ctop_node.store.audit import AuditLog, AuditRow, CheckpointRow

# Purposes of use (Art.6): customs control needs no consent; the others need the providing
# Party's written consent (see ``ctop_node.access.consent``).
CUSTOMS_CONTROL: Final = "customs_control"
DEFAULT_CHECKPOINT_EVERY = 100
DEFAULT_CHECKPOINT_INTERVAL = timedelta(hours=1)  # node.json: audit_checkpoint_interval_s

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


def record_object(origin_party: str, record_id: str, version: int | None = None) -> str:
    """How a record is named in the chain (the evidence bundle selects its entries by it)."""
    return f"record:{origin_party}/{record_id}" + (f"/v{version}" if version else "")


class AuditChain:
    """Writer of the audit chain on a store's engine."""

    def __init__(
        self,
        log: AuditLog,
        *,
        signer: Signer | None = None,
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
        clock: Clock = _now,
    ) -> None:
        self.log = log
        self.signer = signer
        self.checkpoint_every = checkpoint_every
        self.clock = clock

    def record(
        self,
        actor: str,
        action: str,
        obj: str,
        *,
        purpose: str = CUSTOMS_CONTROL,
        origin: str = "",
        detail: Mapping[str, Any] | None = None,
    ) -> AuditRow:
        """Append one entry; sign a checkpoint when the interval is reached."""
        text = orjson.dumps(dict(detail or {}), option=orjson.OPT_SORT_KEYS).decode()
        # The store's and the chain's time must be the same value: microseconds, UTC.
        at = self.clock().astimezone(UTC)

        def step(seq: int, previous: str | None) -> AuditRow:
            fields: dict[str, Any] = {
                "seq": seq,
                "at": at,
                "actor": actor,
                "action": action,
                "object": obj,
                "purpose": purpose,
                "origin": origin,
                "detail": text,
                "detail_digest": detail_digest(text),
            }
            return AuditRow(**fields, digest=chain_digest(previous or GENESIS, fields))

        row = self.log.append(step)
        if self.signer is not None and row.seq % self.checkpoint_every == 0:
            self.checkpoint()
        return row

    def checkpoint(self) -> CheckpointRow | None:
        """Sign the chain's current head; None when the chain is empty or already signed
        there. Needs the node's signer."""
        if self.signer is None:
            return None
        last = self.log.last()
        if last is None or any(cp.seq == last.seq for cp in self.log.checkpoints()):
            return None
        at = self.clock().astimezone(UTC)
        party = party_of(self.signer.certificate) or ""
        signed = sign1(checkpoint_payload(party, last.seq, last.digest, at), self.signer)
        cp = CheckpointRow(
            seq=last.seq,
            digest=last.digest,
            at=at,
            signed=signed,
            certificate=self.signer.certificate.public_bytes(Encoding.PEM).decode("ascii"),
        )
        try:
            self.log.add_checkpoint(cp)
        except StorageError as exc:
            if exc.code != "store.integrity":
                raise
            return None  # another writer signed this head at the same moment
        return cp


class Checkpointer:
    """Signs the chain's head every ``interval`` while the node serves (``ctop-node serve``),
    so a truncation is provable even on a quiet node that never reaches ``checkpoint_every``
    entries; once more when it stops. Time comes from the chain's clock (injectable)."""

    def __init__(self, chain: AuditChain, interval: timedelta = DEFAULT_CHECKPOINT_INTERVAL):
        if interval <= timedelta(0):
            raise ValueError("the checkpoint interval must be positive")
        self.chain = chain
        self.interval = interval
        self.last: datetime | None = None  # when this process last signed (or found) one

    def tick(self) -> CheckpointRow | None:
        """Sign the head if ``interval`` has passed since the last checkpoint (the latest in
        the database when this process has signed none yet) and the head is unsigned."""
        now = self.chain.clock().astimezone(UTC)
        if self.last is None:
            stored = self.chain.log.checkpoints()
            self.last = stored[-1].at.astimezone(UTC) if stored else None
        if self.last is not None and now - self.last < self.interval:
            return None
        cp = self.chain.checkpoint()
        self.last = now
        return cp

    def run_forever(self, stop: threading.Event) -> None:
        poll = min(self.interval.total_seconds(), 60.0)
        while not stop.wait(poll):
            self._safely(self.tick)
        self._safely(self.chain.checkpoint)  # the head as the node stops

    @staticmethod
    def _safely(step: Callable[[], CheckpointRow | None]) -> None:
        try:
            cp = step()
        except StorageError as exc:  # the database away for a moment: the next tick retries
            log.warning("audit checkpoint not signed: %s (%s)", exc.message, exc.code)
            return
        if cp is not None:
            log.info("audit checkpoint signed at position %s", cp.seq)


def record(
    store: SqlStore,
    actor: str,
    action: str,
    obj: str,
    *,
    purpose: str = CUSTOMS_CONTROL,
    origin: str = "",
    detail: Mapping[str, Any] | None = None,
    signer: Signer | None = None,
) -> AuditRow:
    """The hook for every audited event (API routes, UI pages): ``audit_chain.record(store,
    user, "api.records.read", record_object(...), origin="api@10.0.0.5")``."""
    return AuditChain(AuditLog(store.engine), signer=signer).record(
        actor, action, obj, purpose=purpose, origin=origin, detail=detail
    )
