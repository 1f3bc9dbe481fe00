"""The receiving side of the exchange, transport-agnostic: sealed bytes in, an answer out.

``handle`` runs, for one message: strict open (signature, certificate, sender = certificate's
Party, addressed to us, decrypt, digest) -> replay check -> two-stage validation
(:mod:`ctop_node.exchange.checks`) -> the inbox transaction (store once, apply or park, seal
and store the answer). The online endpoint calls it with ``channel="online"``; the smart-lock
reader will call it with ``channel="lock"``.

A message that cannot be authenticated is *refused*: nothing is stored, no signed answer is
made, and only its code and the signing key id are logged (never peer data).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ctop_node.crypto.cose import decode_sign1
from ctop_node.crypto.envelope import EnvelopeHeader, OpenedMessage, open_, seal
from ctop_node.crypto.interfaces import Decryptor, RecipientKey, Signer, TrustStore
from ctop_node.errors import CryptoError, StorageError
from ctop_node.exchange.checks import check_message, tc_number
from ctop_node.model.canonical import canonical_bytes
from ctop_node.model.messages import MessageType, Receipt, Rejection
from ctop_node.online.interfaces import AnswerStatus
from ctop_node.store.inbox import AnswerFactory, Inbox, InboxMessage, Verdict
from ctop_node.tc.registry import DEFAULT_REGISTRY, TcRegistry

log = logging.getLogger(__name__)

INTERNAL = "exchange.internal"
# Database failures that make the whole request fail (503), not one item.
UNAVAILABLE = frozenset({"store.unavailable"})


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


def _kid_of(raw: bytes) -> str:
    try:
        return decode_sign1(raw).kid.hex()
    except CryptoError:
        return "?"


class Receiver:
    """Receives sealed messages for ``party``; answers are signed with ``signer``."""

    def __init__(
        self,
        party: str,
        inbox: Inbox,
        signer: Signer,
        decryptor: Decryptor,
        trust: TrustStore,
        registry: TcRegistry = DEFAULT_REGISTRY,
    ) -> None:
        self.party = party
        self.inbox = inbox
        self.signer = signer
        self.decryptor = decryptor
        self.trust = trust
        self.registry = registry

    @property
    def tc_versions(self) -> list[int]:
        return sorted(self.registry.versions)

    def handle(self, raw: bytes, *, channel: str = "online") -> ItemResult:
        """Answer one sealed message. Raises only ``StorageError`` (database trouble)."""
        prepared = self._prepare(raw, channel)
        if isinstance(prepared, ItemResult):
            return prepared
        msg, factory = prepared
        result = self.inbox.accept(msg, factory)
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
        results: list[ItemResult | None] = [None] * len(raws)
        work: list[tuple[InboxMessage, AnswerFactory]] = []
        slots: list[int] = []
        for i, raw in enumerate(raws):
            try:
                prepared = self._prepare(raw, channel)
            except Exception as exc:  # one bad item must not fail the batch
                results[i] = self._internal(raw, exc)
                continue
            if isinstance(prepared, ItemResult):
                results[i] = prepared
            else:
                work.append(prepared)
                slots.append(i)
        try:
            accepted = self.inbox.accept_batch(work)
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

    def _prepare(self, raw: bytes, channel: str) -> ItemResult | tuple[InboxMessage, AnswerFactory]:
        """Open and check one message: the refusal, or the inbox row and its answer sealer."""
        try:
            opened = open_(raw, self.trust, self.decryptor, self.party)
            head = opened.header
            # No separate replay lookup here: the inbox's insert conflicts on a known id and
            # answers with the stored answer, which saves a round trip for every new message.
            # Fails closed before anything is stored if we cannot encrypt to the sender.
            recipient = self.trust.recipient_key(head.sender)
        except CryptoError as exc:
            log.warning("refused message: code=%s kid=%s", exc.code, _kid_of(raw))
            return ItemResult("refused", None, exc.code, exc.message)
        checked = check_message(opened, self.party, self.registry)
        msg = InboxMessage(
            message_id=head.message_id,
            sender_party=head.sender,
            type=head.type.value,
            tc_version=checked.tc_version,
            payload_digest=head.payload_digest,
            message_digest=opened.message_digest,
            message=raw,
            channel=channel,
            record_id=head.record_id,
            version=head.version,
            body=checked.body,
            errors=checked.errors,
        )

        def factory(verdict: Verdict) -> bytes:
            return self._seal_answer(opened, verdict, recipient)

        return msg, factory

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
        self, opened: OpenedMessage, verdict: Verdict, recipient: RecipientKey
    ) -> bytes:
        head = opened.header
        mtype = MessageType(verdict.answer_type)
        # Answer in the sender's tc version when we know it, else in our latest.
        known = tc_number(head.tc_version) in self.registry.versions
        tc = head.tc_version if known else str(self.registry.latest.version)
        answer_header = EnvelopeHeader.new(
            mtype,
            sender=self.party,
            recipient=head.sender,
            tc_version=tc,
            record_id=head.record_id,
            version=head.version,
            correlation_id=head.message_id,
        )
        if mtype is MessageType.RECEIPT:
            payload = canonical_bytes(
                Receipt(
                    message_id=head.message_id,
                    message_digest=opened.message_digest,
                    stored_at=datetime.now(UTC),
                )
            )
        else:
            payload = canonical_bytes(
                Rejection(
                    message_id=head.message_id,
                    message_digest=opened.message_digest,
                    errors=list(verdict.errors),
                )
            )
        return seal(answer_header, payload, self.signer, recipient)
