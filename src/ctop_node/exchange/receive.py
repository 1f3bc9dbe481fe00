"""THE receive path, whatever channel brought the message: check -> inbox -> answer.

:meth:`Receiver.receive` takes one authenticated message in channel-neutral form
(:class:`Incoming`): two-stage validation (:mod:`ctop_node.exchange.checks`) -> the inbox
transaction (store once, apply or park, seal and store the answer). Both channels call it and
neither feeds the inbox itself:

- online (:mod:`ctop_node.online.endpoint`): :meth:`Receiver.handle` / :meth:`handle_batch`
  strictly open a sealed envelope (signature, certificate, sender = certificate's Party,
  addressed to us, decrypt, digest), then receive it with ``channel="online"``;
- lock (:mod:`ctop_node.lock.reader`): the reader verifies the lock image and opens the lock
  payload, then receives the record with ``channel="lock"``.

A message that cannot be authenticated is *refused*: nothing is stored, no signed answer is
made, and only its code and the signing key id are logged (never peer data).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from ctop_node.crypto.cose import decode_sign1
from ctop_node.crypto.envelope import EnvelopeHeader, open_, seal
from ctop_node.crypto.interfaces import Decryptor, RecipientKey, Signer, TrustStore
from ctop_node.errors import CryptoError, StorageError
from ctop_node.exchange.checks import (
    DEFAULT_MAX_SKEW,
    MAX_ERRORS,
    Checked,
    MessageFields,
    check_agreement,
    check_clock,
    check_message,
    tc_number,
)
from ctop_node.exchange.manifest import check_manifest_message
from ctop_node.model.canonical import canonical_bytes
from ctop_node.model.messages import (
    ManifestMessage,
    MessageType,
    Receipt,
    Rejection,
    RejectionError,
)
from ctop_node.model.reference import DEFAULT_AGREEMENTS, Agreement
from ctop_node.store.inbox import AnswerFactory, Inbox, InboxMessage, InboxResult, Verdict
from ctop_node.tc.registry import DEFAULT_REGISTRY, TcRegistry

log = logging.getLogger(__name__)

INTERNAL = "exchange.internal"
# Database failures that make the whole request fail (503), not one item.
UNAVAILABLE = frozenset({"store.unavailable"})


AnswerStatus = Literal["receipt", "rejection", "refused"]
ANSWER_STATUSES: tuple[AnswerStatus, ...] = ("receipt", "rejection", "refused")


@dataclass(frozen=True, slots=True)
class Incoming:
    """One authenticated message, as any channel hands it to the receive path."""

    message_id: str
    fields: MessageFields  # type, tc version, record id, version
    sender: str  # the Party whose certificate signed it
    payload: bytes  # the plaintext the fields describe
    payload_digest: str
    message_digest: str
    message: bytes  # the bytes as received, stored with the inbox row
    channel: str
    # The sender's header time, checked against our clock (online). None: the channel has
    # no sending time to judge (a lock payload is read days later; its expiry bounds it).
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ItemResult:
    """The answer to one message, as the wire protocol carries it."""

    status: AnswerStatus
    answer: bytes | None
    code: str = ""
    message: str = ""


def _result(answer: bytes, verdict: Verdict, *, replayed: bool) -> ItemResult:
    if verdict.answer_type == "RECEIPT":
        note = f"{verdict.state} (replay)" if replayed else verdict.state
        return ItemResult("receipt", answer, "", note)
    first = verdict.errors[0] if verdict.errors else None
    return ItemResult(
        "rejection",
        answer,
        first.code if first else "",
        f"{first.field}: {first.message}" if first else "",
    )


def _receipt_status(verdict: Verdict) -> Literal["applied", "waiting", "duplicate"]:
    if verdict.state in ("applied", "waiting", "duplicate"):
        return verdict.state
    raise ValueError(f"a RECEIPT for an inbox state {verdict.state!r}")


def _kid_of(raw: bytes) -> str:
    try:
        return decode_sign1(raw).kid.hex()
    except CryptoError:
        return "?"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Receiver:
    """Receives sealed messages for ``party``; answers are signed with ``signer``.

    ``agreements``: the agreements in force (a message's tc version must be named by one
    between its sender and us); ``max_skew``: how far an online message's ``created_at``
    may be from ``clock()``, either way."""

    def __init__(
        self,
        party: str,
        inbox: Inbox,
        signer: Signer,
        decryptor: Decryptor,
        trust: TrustStore,
        registry: TcRegistry = DEFAULT_REGISTRY,
        *,
        agreements: Sequence[Agreement] = DEFAULT_AGREEMENTS,
        max_skew: timedelta = DEFAULT_MAX_SKEW,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.party = party
        self.inbox = inbox
        self.signer = signer
        self.decryptor = decryptor
        self.trust = trust
        self.registry = registry
        self.agreements = tuple(agreements)
        self.max_skew = max_skew
        self.clock = clock

    @property
    def tc_versions(self) -> list[int]:
        return sorted(self.registry.versions)

    def receive(self, msg: Incoming, *, now: datetime | None = None) -> InboxResult:
        """Check, store once and answer one authenticated message. Raises ``CryptoError``
        when we cannot encrypt an answer to the sender (before anything is stored) and
        ``StorageError`` on database trouble."""
        now = now or self.clock()
        row, factory = self.prepare(msg, now)
        return self.inbox.accept(row, factory, now=now)

    def prepare(
        self, msg: Incoming, now: datetime | None = None
    ) -> tuple[InboxMessage, AnswerFactory]:
        """The inbox row of ``msg`` with what the check found, and its answer sealer.
        Fails closed (``CryptoError``) before anything is stored if we cannot encrypt to
        the sender."""
        now = now or self.clock()
        recipient = self.trust.recipient_key(msg.sender)
        head = msg.fields
        checked = check_message(
            head, msg.payload, signer=msg.sender, party=self.party, registry=self.registry
        )
        exchange_errors = self._exchange_rules(msg, checked.tc_version, now)
        if head.type is MessageType.MANIFEST and checked.body is not None:
            # The inner manifest is signed on its own: checked with our trust store before
            # it is stored, so a stored peer manifest is always one we could verify.
            notice = ManifestMessage.model_validate_json(checked.body)
            _, refused = check_manifest_message(notice, msg.sender, self.trust, now)
            if refused is not None:
                exchange_errors.append(refused)
        if exchange_errors:
            errors = (*exchange_errors, *checked.errors)[:MAX_ERRORS]
            checked = Checked(checked.tc_version, errors=errors)
        row = InboxMessage(
            message_id=msg.message_id,
            sender_party=msg.sender,
            type=head.type.value,
            tc_version=checked.tc_version,
            payload_digest=msg.payload_digest,
            message_digest=msg.message_digest,
            message=msg.message,
            channel=msg.channel,
            record_id=head.record_id,
            version=head.version,
            body=checked.body,
            errors=checked.errors,
        )

        def factory(verdict: Verdict) -> bytes:
            return self._seal_answer(msg, verdict, recipient, now)

        return row, factory

    def _exchange_rules(
        self, msg: Incoming, tc_version: int, now: datetime
    ) -> list[RejectionError]:
        """Rules of the exchange, not of the payload: the sending time (online) and the
        tc version named by an agreement in force."""
        errors: list[RejectionError] = []
        if msg.created_at is not None:
            skew = check_clock(msg.created_at, now, self.max_skew)
            if skew is not None:
                errors.append(skew)
        if tc_version in self.registry.versions:  # an unknown one is tc.unknown_version
            agreed = check_agreement(
                tc_version, msg.sender, self.party, self.agreements, now.date()
            )
            if agreed is not None:
                errors.append(agreed)
        return errors

    def handle(self, raw: bytes, *, channel: str = "online") -> ItemResult:
        """Answer one sealed message. Raises only ``StorageError`` (database trouble)."""
        now = self.clock()
        prepared = self._prepare(raw, channel, now)
        if isinstance(prepared, ItemResult):
            return prepared
        row, factory = prepared
        result = self.inbox.accept(row, factory, now=now)
        return _result(result.answer, result.verdict, replayed=result.replayed)

    def handle_batch(self, raws: Sequence[bytes], *, channel: str = "online") -> list[ItemResult]:
        """One answer per message, in order, with the database work of the whole batch in
        one transaction (a savepoint per message, :meth:`Inbox.accept_batch`).

        Opening and checking (pure CPU) happen first, outside the transaction; answers are
        sealed inside it, each in its message's savepoint, so an answer never exists
        without its stored row. A failure inside one item refuses that item
        (``exchange.internal``) and rolls back only its work; only an unavailable database
        fails the batch (``StorageError``: the endpoint answers 503, nothing is stored).
        """
        now = self.clock()
        results: list[ItemResult | None] = [None] * len(raws)
        work: list[tuple[InboxMessage, AnswerFactory]] = []
        slots: list[int] = []
        for i, raw in enumerate(raws):
            try:
                prepared = self._prepare(raw, channel, now)
            except Exception as exc:  # one bad item must not fail the batch
                results[i] = self._internal(raw, exc)
                continue
            if isinstance(prepared, ItemResult):
                results[i] = prepared
            else:
                work.append(prepared)
                slots.append(i)
        try:
            accepted = self.inbox.accept_batch(work, now=now)
        except StorageError as exc:
            if exc.code in UNAVAILABLE:
                raise
            accepted = [exc] * len(work)
        for i, outcome in zip(slots, accepted, strict=True):
            if isinstance(outcome, Exception):
                results[i] = self._internal(raws[i], outcome)
            else:
                results[i] = _result(outcome.answer, outcome.verdict, replayed=outcome.replayed)
        return [r for r in results if r is not None]

    def _prepare(
        self, raw: bytes, channel: str, now: datetime
    ) -> ItemResult | tuple[InboxMessage, AnswerFactory]:
        """Open and check one sealed message: the refusal, or the inbox row and its answer
        sealer."""
        try:
            opened = open_(raw, self.trust, self.decryptor, self.party)
            head = opened.header
            # No separate replay lookup here: the inbox's insert conflicts on a known id and
            # answers with the stored answer, which saves a round trip for every new message.
            return self.prepare(
                Incoming(
                    message_id=head.message_id,
                    fields=head,
                    sender=head.sender,
                    payload=opened.payload,
                    payload_digest=head.payload_digest,
                    message_digest=opened.message_digest,
                    message=raw,
                    channel=channel,
                    created_at=head.created_at,
                ),
                now,
            )
        except CryptoError as exc:
            log.warning("refused message: code=%s kid=%s", exc.code, _kid_of(raw))
            return ItemResult("refused", None, exc.code, exc.message)

    def _internal(self, raw: bytes, exc: Exception) -> ItemResult:
        log.error(
            "internal error on a message: kid=%s error=%s",
            _kid_of(raw),
            type(exc).__name__,
            exc_info=exc,
        )
        return ItemResult(
            "refused", None, INTERNAL, "the receiver failed on this message; send it again"
        )

    def _seal_answer(
        self, msg: Incoming, verdict: Verdict, recipient: RecipientKey, now: datetime
    ) -> bytes:
        head = msg.fields
        mtype = MessageType(verdict.answer_type)
        # Answer in the sender's tc version when we know it, else in our latest.
        known = tc_number(head.tc_version) in self.registry.versions
        tc = head.tc_version if known else str(self.registry.latest.version)
        answer_header = EnvelopeHeader.new(
            mtype,
            sender=self.party,
            recipient=msg.sender,
            tc_version=tc,
            record_id=head.record_id,
            version=head.version,
            correlation_id=msg.message_id,
        )
        if mtype is MessageType.RECEIPT:
            payload = canonical_bytes(
                Receipt(
                    message_id=msg.message_id,
                    message_digest=msg.message_digest,
                    status=_receipt_status(verdict),
                    stored_at=now,
                )
            )
        else:
            payload = canonical_bytes(
                Rejection(
                    message_id=msg.message_id,
                    message_digest=msg.message_digest,
                    errors=list(verdict.errors),
                )
            )
        return seal(answer_header, payload, self.signer, recipient)
