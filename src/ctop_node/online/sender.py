"""The sender worker: drains the outbox to every peer with ONE algorithm, :meth:`Sender.drain`
(what the running node does, and what every test drives, also through :meth:`run_once`).

Per peer and batch (all state is in the database, so a restarted sender resumes exactly
where the last one stopped):

1. skip the peer while its circuit is open;
2. take the due entries (``Outbox.due``: oldest first, versions never overtake each other);
3. seal the entries not sealed yet (CONSIGNMENT for version 1, AMENDMENT above; payload =
   the stored canonical record body, encrypted to the peer; CANCELLATION for a
   cancellation entry) and commit message id + bytes BEFORE sending, so that every retry
   sends the very same message, while it is young enough for the peer's clock-skew check
   (``reseal_after``): an older one is sealed anew under a new message id, which the peer
   recognises by its content (``duplicate``) if the old one did arrive;
4. send the batch; a whole-batch ``TransportError`` counts against the peer's circuit and
   puts every entry back with an exponential, jittered delay;
5. judge each answer: delivered only on a RECEIPT that opens with our trust store, is signed
   by the peer Party, addressed to us, correlated to our message id and names the digest of
   our exact bytes; a valid REJECTION is final and kept for the sending officer; anything
   else (refused, an answer that does not verify) is retried later, or is dead when
   retrying cannot help (:data:`NON_RETRIABLE`).

Sealing batch n+1, sending batch n and judging batch n-1 overlap (see :meth:`Sender.drain`).
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from ctop_node.crypto.envelope import EnvelopeHeader, message_digest, open_, peek_header, seal
from ctop_node.crypto.interfaces import Decryptor, RecipientKey, Signer, TrustStore
from ctop_node.errors import CryptoError, CtopError, StorageError, TransportError
from ctop_node.model.canonical import canonical_bytes
from ctop_node.model.messages import Cancellation, MessageType, Receipt, Rejection
from ctop_node.online._send_report import PeerReport, SendReport
from ctop_node.online.backoff import Backoff, CircuitPolicy
from ctop_node.online.interfaces import DeliveryAnswer, ProtocolViolation, Transport
from ctop_node.store.outbox import Dead, Delivered, Outbox, OutboxItem, Rejected, Retry, Settlement

log = logging.getLogger(__name__)

__all__ = ["BAD_ANSWER", "MAX_ATTEMPTS", "NON_RETRIABLE", "PeerReport", "SendReport", "Sender"]

# Errors that the same sealed bytes can never get past: retrying is pointless, the entry is
# dead (kept, visible in status). Refusals not listed (unknown key, untrusted chain,
# revoked, stale CRL ...) depend on the peer's trust settings and are retried.
NON_RETRIABLE = frozenset(
    {
        "crypto.wrong_recipient",
        "crypto.sender_mismatch",
        "crypto.malformed",
        "crypto.digest_mismatch",
        "crypto.bad_signature",
        "crypto.decrypt",
        "crypto.plaintext",
    }
)
BAD_ANSWER = "exchange.bad_answer"
# A sealed message is sent as it is while younger than this; older, it is sealed again
# under a new message id (half the receivers' default clock-skew window of 10 minutes).
RESEAL_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = "outbox.max_attempts"


class _BadAnswer(CtopError):
    """The peer's answer is authentic but does not acknowledge what we sent."""

    code = BAD_ANSWER


def _utcnow() -> datetime:
    return datetime.now(UTC)


_NEVER = threading.Event()  # a stop that is never set: run_once ends by its batch count


class Sender:
    """Delivers the outbox of Party ``party`` through ``transport`` (see module doc).

    ``max_attempts`` (default: unlimited) makes an entry dead after that many item-level
    failures (refused, unverifiable answer); whole-batch transport failures never make an
    entry dead: a backlog of days must survive an outage.
    """

    def __init__(
        self,
        party: str,
        outbox: Outbox,
        transport: Transport,
        signer: Signer,
        decryptor: Decryptor,
        trust: TrustStore,
        *,
        batch_size: int = 200,
        backoff: Backoff | None = None,
        circuit: CircuitPolicy | None = None,
        max_attempts: int | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = _utcnow,
        reseal_after: timedelta = RESEAL_AFTER,
    ) -> None:
        self.party = party
        self.outbox = outbox
        self.transport = transport
        self.signer = signer
        self.decryptor = decryptor
        self.trust = trust
        self.batch_size = batch_size
        self.backoff = backoff or Backoff()
        self.circuit = circuit or CircuitPolicy()
        self.max_attempts = max_attempts
        self.rng = rng or random.Random()
        self.clock = clock
        self.reseal_after = reseal_after
        self._executor: ThreadPoolExecutor | None = None

    # -- the loop ---------------------------------------------------------------------------

    def run_forever(self, stop: threading.Event, idle_wait: float = 0.025) -> None:
        """Pass after pass until ``stop`` is set; waits on ``stop`` when idle. A database
        outage is logged and waited out, never fatal. The idle wait bounds the latency of a
        new record (one indexed query per wait when idle)."""
        try:
            self._loop(stop, idle_wait)
        finally:
            self.close()

    def _loop(self, stop: threading.Event, idle_wait: float) -> None:
        while not stop.is_set():
            try:
                report = self._drain_all(stop)
            except StorageError as exc:
                log.warning("sender: database unavailable: %s", exc)
                stop.wait(max(idle_wait, 1.0))
                continue
            if not report.busy:
                stop.wait(idle_wait)

    def _drain_all(self, stop: threading.Event) -> SendReport:
        now = self.clock()
        report = SendReport(now)
        for peer in self.outbox.peers_due(now):
            report.peers[peer] = self.drain(peer, stop)
        return report

    def run_once(self, now: datetime | None = None, *, max_batches: int = 1) -> SendReport:
        """:meth:`drain` every peer that has due entries at ``now``, at most ``max_batches``
        batches each, with the clock held at ``now`` (tests step time this way)."""
        now = now or self.clock()
        report = SendReport(now)
        for peer in self.outbox.peers_due(now):
            report.peers[peer] = self.drain(peer, _NEVER, max_batches, now=now)
        return report

    # -- the drain --------------------------------------------------------------------------

    def drain(
        self,
        peer: str,
        stop: threading.Event,
        max_batches: int = 50,
        *,
        now: datetime | None = None,
    ) -> PeerReport:
        """Deliver due batches to ``peer`` with sealing, sending and judging overlapped:
        batch n+1 is sealed (and committed) while batch n is at the peer, and batch n is
        judged and settled while n+1 is at the peer. Both nodes' CPUs work at once.

        Order is kept: a batch goes only after the previous one came back with every message
        stored by the peer (no ``refused`` item, no transport error); otherwise the sealed
        next batch is not sent (it stays pending with its message, re-read by the next
        drain) and the failure is handled: a whole-batch failure counts against the peer's
        circuit and puts the batch back with a backoff; each refused or unverifiable answer
        is retried later or dead. Returns after ``max_batches`` batches, when nothing more is
        due, or on ``stop``. ``now`` holds the clock for this drain (tests).
        """
        clock = self.clock if now is None else (lambda: now)
        rep = PeerReport(peer)
        pool = self._pool()
        flight: tuple[list[tuple[OutboxItem, str, bytes]], Future[list[DeliveryAnswer]]] | None
        flight = None
        cursor = 0  # entries up to this id are in flight or being settled
        for batch_no in range(max_batches):
            at = clock()
            nxt: list[tuple[OutboxItem, str, bytes]] = []
            allowed = self.outbox.circuit(peer).allows(at)
            if batch_no == 0 and not allowed:
                rep.skipped = True
            if not stop.is_set() and allowed:
                items = self.outbox.due(peer, self.batch_size, at, after=cursor)
                if items:
                    try:
                        nxt, dead = self._seal(peer, items, at, rep)
                    except CryptoError as exc:  # e.g. no encryption key of the peer
                        if flight is not None:
                            self._land(peer, *flight, rep, clock())
                        self._batch_failed(peer, items, exc, at, rep)
                        return rep
                    if dead:
                        self.outbox.settle(dead)
                        for s in dead:
                            self._count(rep, s)
                    cursor = max(item.id for item in items)
            if flight is None:
                if not nxt:
                    return rep
                flight = (nxt, pool.submit(self._send, peer, nxt))
                continue
            # Wait for batch n; send n+1 at once when n was stored whole; then judge n.
            sent, future = flight
            answers = self._answers(future, len(sent))
            clean = not isinstance(answers, TransportError) and all(
                a.status != "refused" for a in answers
            )
            flight = None
            if nxt and clean:
                flight = (nxt, pool.submit(self._send, peer, nxt))
            self._settle_flight(peer, sent, answers, rep, clock())
            if not clean:
                return rep  # a retry is due later; the next drain re-reads in order
        if flight is not None:
            self._land(peer, *flight, rep, clock())
        return rep

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="ctop-send")
        return self._executor

    def _send(self, peer: str, batch: list[tuple[OutboxItem, str, bytes]]) -> list[DeliveryAnswer]:
        return self.transport.send(peer, [raw for _, _, raw in batch])

    @staticmethod
    def _answers(
        future: Future[list[DeliveryAnswer]], expected: int
    ) -> list[DeliveryAnswer] | TransportError:
        try:
            answers = future.result()
            if len(answers) != expected:
                raise ProtocolViolation(f"{len(answers)} answers for {expected} messages")
        except TransportError as exc:
            return exc
        return answers

    def _land(
        self,
        peer: str,
        sent: list[tuple[OutboxItem, str, bytes]],
        future: Future[list[DeliveryAnswer]],
        rep: PeerReport,
        now: datetime,
    ) -> None:
        self._settle_flight(peer, sent, self._answers(future, len(sent)), rep, now)

    def _settle_flight(
        self,
        peer: str,
        sent: list[tuple[OutboxItem, str, bytes]],
        answers: list[DeliveryAnswer] | TransportError,
        rep: PeerReport,
        now: datetime,
    ) -> None:
        if isinstance(answers, TransportError):
            self._batch_failed(peer, [item for item, _, _ in sent], answers, now, rep)
            return
        rep.sent += len(sent)
        settled = [
            self._judge(peer, item, mid, raw, answer, now)
            for (item, mid, raw), answer in zip(sent, answers, strict=True)
        ]
        self.outbox.settle(settled, success=(peer, now))
        for s in settled:
            self._count(rep, s)

    def close(self) -> None:
        """Stop the send thread of :meth:`drain` (the transport is closed by its owner)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def _seal(
        self, peer: str, items: list[OutboxItem], now: datetime, rep: PeerReport
    ) -> tuple[list[tuple[OutboxItem, str, bytes]], list[Settlement]]:
        """Seal what is not sealed yet and commit it; the batch to send and the entries
        that could not be sealed (dead)."""
        failed: list[Settlement] = []
        fresh: list[tuple[int, str, bytes]] = []
        stale: list[tuple[int, str, str, bytes]] = []
        key: RecipientKey | None = None
        for item in items:
            if item.sealed and not self._stale(item, now):
                continue
            if key is None:
                key = self.trust.recipient_key(peer)  # checked once per batch
            try:
                mid, raw = self._seal_one(peer, item, key, now)
            except CryptoError as exc:
                log.error("sender: cannot seal %s v%s: %s", item.record_id, item.version, exc)
                failed.append(Dead(item.id, exc.code, exc.message, now))
                continue
            if item.message_id is not None:
                stale.append((item.id, item.message_id, mid, raw))
            else:
                fresh.append((item.id, mid, raw))
        stored = self.outbox.attach(fresh)  # committed before anything goes out
        stored.update(self.outbox.reseal(stale))
        rep.sealed = len(fresh) + len(stale)
        dead = {s.outbox_id for s in failed}
        batch: list[tuple[OutboxItem, str, bytes]] = []
        for item in items:
            if item.id in dead:
                continue
            if item.id in stored:
                mid, raw = stored[item.id]
                batch.append((item, mid, raw))
            else:
                assert item.message_id is not None and item.message is not None
                batch.append((item, item.message_id, item.message))
        return batch, failed

    def _stale(self, item: OutboxItem, now: datetime) -> bool:
        """A sealed message older than ``reseal_after``: the peer would refuse its
        ``created_at`` (clock skew, default 10 minutes), so it is sealed anew under a new
        message id before it is sent again (after an outage, say)."""
        if item.message is None:
            return False
        try:
            created = peek_header(item.message).created_at
        except CryptoError:
            return True  # unreadable bytes of ours: seal again
        return now - created > self.reseal_after

    def _seal_one(
        self, peer: str, item: OutboxItem, key: RecipientKey, now: datetime
    ) -> tuple[str, bytes]:
        if item.cancellation:
            # The header and the payload name the version cancelled (one the peer holds).
            mtype = MessageType.CANCELLATION
            payload = canonical_bytes(
                Cancellation(
                    record_id=item.record_id,
                    version=item.version,
                    reason=item.reason or "cancelled by the sending customs",
                )
            )
        else:
            mtype = MessageType.CONSIGNMENT if item.version == 1 else MessageType.AMENDMENT
            payload = item.body
        header = EnvelopeHeader.new(
            mtype,
            sender=self.party,
            recipient=peer,
            tc_version=str(item.tc_version),
            record_id=item.record_id,
            version=item.version,
        )
        # Sealed at the sender's clock: the peer judges created_at against its own.
        header = dataclasses.replace(header, created_at=now)
        return header.message_id, seal(header, payload, self.signer, key)

    def _batch_failed(
        self,
        peer: str,
        items: list[OutboxItem],
        exc: TransportError | CryptoError,
        now: datetime,
        rep: PeerReport,
    ) -> None:
        status = self.outbox.record_failure(
            peer,
            str(exc),
            now,
            self.circuit.open_for,
            failures_to_open=self.circuit.failures_to_open,
        )
        # One delay for the whole batch: its entries stay in order when they come back.
        later = now + self.backoff.delay(status.consecutive_failures, self.rng)
        self.outbox.settle([Retry(item.id, str(exc), later) for item in items])
        rep.error = str(exc)
        rep.retried += len(items)
        log.warning(
            "sender: batch of %d to %s failed (%s); circuit %s after %d failures",
            len(items),
            peer,
            exc,
            status.circuit,
            status.consecutive_failures,
        )

    # -- one answer -------------------------------------------------------------------------

    def _judge(
        self,
        peer: str,
        item: OutboxItem,
        mid: str,
        raw: bytes,
        answer: DeliveryAnswer,
        now: datetime,
    ) -> Settlement:
        if answer.status == "refused" or answer.answer is None:
            code = answer.code or "transport.refused"
            error = f"refused by {peer}: [{code}] {answer.message}"
            log.warning("sender: %s v%s (%s) %s", item.record_id, item.version, mid, error)
            if code in NON_RETRIABLE:
                return Dead(item.id, code, error, now)
            return self._retry(item, error, now)
        try:
            return self._verified(peer, item, mid, raw, answer.status, answer.answer, now)
        except (CryptoError, _BadAnswer) as exc:
            error = f"answer of {peer} not accepted: {exc}"
            log.warning("sender: %s v%s (%s) %s", item.record_id, item.version, mid, error)
            return self._retry(item, error, now)

    def _verified(
        self,
        peer: str,
        item: OutboxItem,
        mid: str,
        raw: bytes,
        status: str,
        sealed_answer: bytes,
        now: datetime,
    ) -> Settlement:
        opened = open_(sealed_answer, self.trust, self.decryptor, self.party)
        head = opened.header
        wanted = MessageType.RECEIPT if status == "receipt" else MessageType.REJECTION
        if opened.signer.party != peer or head.sender != peer:
            raise _BadAnswer(f"signed by {opened.signer.party}, not by {peer}")
        if head.type is not wanted:
            raise _BadAnswer(f"a {head.type} where a {wanted} was announced")
        if head.correlation_id != mid:
            raise _BadAnswer(f"correlation id {head.correlation_id} is not our {mid}")
        ours = message_digest(raw)
        try:
            if wanted is MessageType.RECEIPT:
                receipt = Receipt.model_validate_json(opened.payload)
                if receipt.message_id != mid or receipt.message_digest != ours:
                    raise _BadAnswer("the receipt names another message or digest")
                return Delivered(item.id, sealed_answer, now)
            rejection = Rejection.model_validate_json(opened.payload)
        except ValidationError as exc:
            raise _BadAnswer(
                f"the {wanted} payload is not valid: {exc.error_count()} errors"
            ) from exc
        if rejection.message_id != mid or rejection.message_digest not in (None, ours):
            raise _BadAnswer("the rejection names another message or digest")
        first = rejection.errors[0]
        text = "; ".join(f"{e.field}: [{e.code}] {e.message}" for e in rejection.errors)
        # The log names fields and codes only: a rejection's message may quote a value of the
        # record (a container number); the full text stays in the outbox row.
        fields = "; ".join(f"{e.field}: [{e.code}]" for e in rejection.errors)
        log.info("sender: %s v%s rejected by %s: %s", item.record_id, item.version, peer, fields)
        return Rejected(item.id, sealed_answer, first.code, text, now)

    def _retry(self, item: OutboxItem, error: str, now: datetime) -> Settlement:
        attempts = item.attempts + 1
        if self.max_attempts is not None and attempts >= self.max_attempts:
            return Dead(item.id, MAX_ATTEMPTS, error, now)
        return Retry(item.id, error, now + self.backoff.delay(attempts, self.rng), sent_at=now)

    @staticmethod
    def _count(rep: PeerReport, s: Settlement) -> None:
        if isinstance(s, Delivered):
            rep.delivered += 1
        elif isinstance(s, Rejected):
            rep.rejected += 1
        elif isinstance(s, Retry):
            rep.retried += 1
        else:
            rep.dead += 1
