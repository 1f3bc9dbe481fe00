"""Judging a peer's answers against the spec (docs/exchange.md, docs/rejection-codes.md,
docs/protocol/).

Per message, the spec says the answer item is ``{status, answer, code, message}``:

- ``receipt``: ``answer`` is a RECEIPT sealed by the peer Party to us (signature, certificate
  and decryption checked with the kit's trust store), answering our message id
  (``correlation_id``), whose signed payload names our message id, the SHA-256 of the exact
  bytes we sent and the receipt ``status`` (applied, waiting, duplicate);
- ``rejection``: ``answer`` is a sealed REJECTION whose signed errors hold the expected code
  (and field), and the item's ``code`` is one of them;
- ``refused``: no answer, the item's ``code`` is the expected security code.

A whole-request error is an HTTP status with a JSON body ``{"code", "message"}``.
Every mismatch becomes one line saying what was expected and what came back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson

from ctop_node.conformance.client import Reply
from ctop_node.conformance.kit import KitHome
from ctop_node.conformance.messages import Sent
from ctop_node.crypto.envelope import OpenedMessage, open_
from ctop_node.errors import CryptoError
from ctop_node.model.messages import MessageType

ItemStatus = Literal["receipt", "rejection", "refused"]


@dataclass(frozen=True, slots=True)
class Expect:
    """What the spec says one message (or the whole request) gets back."""

    status: ItemStatus | None = None  # None: a whole-request error (``http`` != 200)
    code: str = ""
    field: str | None = None
    receipt: str | None = None  # the signed receipt status: applied | waiting | duplicate
    http: int = 200

    def describe(self) -> str:
        if self.status is None:
            return f"HTTP {self.http} {self.code}"
        if self.status == "receipt":
            return f"RECEIPT ({self.receipt})" if self.receipt else "RECEIPT"
        if self.status == "rejection":
            where = f" at {self.field}" if self.field else ""
            return f"REJECTION {self.code}{where}"
        return f"refused {self.code}"


def receipt(status: str = "applied") -> Expect:
    return Expect("receipt", receipt=status)


def rejection(code: str, field: str | None = None) -> Expect:
    return Expect("rejection", code=code, field=field)


def refused(code: str) -> Expect:
    return Expect("refused", code=code)


def whole(http: int, code: str) -> Expect:
    return Expect(None, code=code, http=http)


@dataclass
class Judge:
    """Judges replies for the kit's Party, whose keys open the peer's answers."""

    kit: KitHome
    party: str
    peer: str

    def reply(self, reply: Reply, sent: list[Sent], expects: list[Expect]) -> list[str]:
        """Problems with ``reply`` to a request carrying ``sent`` (empty: conforms)."""
        if len(expects) == 1 and expects[0].status is None:
            return _whole(reply, expects[0])
        if reply.http != 200:
            return [f"expected HTTP 200, got HTTP {reply.http}: {_excerpt(reply.body)}"]
        if reply.items is None:
            return [f"expected a CBOR array of answers, got {reply.error or 'something else'}"]
        if len(reply.items) != len(sent):
            return [f"expected {len(sent)} answers (one per message), got {len(reply.items)}"]
        problems: list[str] = []
        for n, (item, message, expect) in enumerate(
            zip(reply.items, sent, expects, strict=True), 1
        ):
            where = f"message {n}: " if len(sent) > 1 else ""
            problems += [where + p for p in self.item(item, message, expect)]
        return problems

    def item(self, item: Any, sent: Sent, expect: Expect) -> list[str]:
        if not isinstance(item, dict) or not {"status", "answer", "code"} <= set(item):
            return [f"expected an answer map {{status, answer, code, message}}, got {item!r:.200}"]
        got = _got(item)
        if item["status"] != expect.status:
            return [f"expected {expect.describe()}, got {got}"]
        if expect.status == "refused":
            problems = []
            if item["code"] != expect.code:
                problems.append(f"expected refused {expect.code}, got {got}")
            if item["answer"] is not None:
                problems.append("a refused message must get no signed answer, got one")
            return problems
        answer = item["answer"]
        if not isinstance(answer, bytes):
            return [f"expected a sealed answer (bytes), got {type(answer).__name__}"]
        try:
            opened = open_(answer, self.kit.trust(), self.kit.decryptor(), self.party)
        except CryptoError as exc:
            return [f"the answer does not verify: {exc.code}: {exc.message}"]
        problems = self._envelope(opened, sent, expect)
        try:
            payload = orjson.loads(opened.payload)
        except orjson.JSONDecodeError:
            return [*problems, "the answer's payload is not JSON"]
        if not isinstance(payload, dict):
            return [*problems, "the answer's payload is not a JSON object"]
        if payload.get("message_id") != sent.message_id:
            problems.append(
                f"the signed answer names message {payload.get('message_id')!r}, "
                f"we sent {sent.message_id}"
            )
        if expect.status == "receipt":
            problems += _receipt(payload, sent, expect)
        else:
            problems += _rejection(payload, item, sent, expect)
        return problems

    def _envelope(self, opened: OpenedMessage, sent: Sent, expect: Expect) -> list[str]:
        head = opened.header
        wanted = MessageType.RECEIPT if expect.status == "receipt" else MessageType.REJECTION
        problems = []
        if opened.signer.party != self.peer:
            problems.append(f"the answer is signed by {opened.signer.party}, not {self.peer}")
        if head.type is not wanted:
            problems.append(f"expected a sealed {wanted.value}, got a {head.type.value}")
        if head.correlation_id != sent.message_id:
            problems.append(
                f"the answer's correlation_id is {head.correlation_id}, "
                f"expected our message id {sent.message_id}"
            )
        return problems


def _receipt(payload: dict[str, Any], sent: Sent, expect: Expect) -> list[str]:
    problems = []
    if payload.get("message_digest") != sent.digest:
        problems.append(
            f"the receipt names digest {payload.get('message_digest')!r}, "
            f"the bytes we sent have {sent.digest}"
        )
    if expect.receipt is not None and payload.get("status") != expect.receipt:
        found = payload.get("status")
        problems.append(
            f"expected the signed receipt status {expect.receipt!r}, got "
            + ("no status in the signed payload" if found is None else repr(found))
        )
    return problems


def _rejection(
    payload: dict[str, Any], item: dict[str, Any], sent: Sent, expect: Expect
) -> list[str]:
    digest = payload.get("message_digest")
    if digest is not None and digest != sent.digest:
        return [f"the rejection names digest {digest!r}, the bytes we sent have {sent.digest}"]
    errors = payload.get("errors")
    if not isinstance(errors, list) or not errors:
        return ["the signed REJECTION names no errors"]
    pairs = {(str(e.get("code")), str(e.get("field"))) for e in errors if isinstance(e, dict)}
    codes = {c for c, _ in pairs}
    problems = []
    if expect.code not in codes:
        problems.append(f"expected REJECTION {expect.code}, the signed errors are {sorted(codes)}")
    elif expect.field is not None and (expect.code, expect.field) not in pairs:
        fields = sorted(f for c, f in pairs if c == expect.code)
        problems.append(f"expected {expect.code} at {expect.field}, got it at {fields}")
    if item["code"] not in codes:
        problems.append(f"the item code {item['code']!r} is not among the signed errors")
    return problems


def _whole(reply: Reply, expect: Expect) -> list[str]:
    got_code = (reply.problem or {}).get("code")
    if reply.http == expect.http and got_code == expect.code:
        return []
    got = f"HTTP {reply.http} {got_code or _excerpt(reply.body)}"
    return [f"expected {expect.describe()}, got {got}"]


def _got(item: dict[str, Any]) -> str:
    status = item.get("status")
    code = item.get("code") or ""
    message = item.get("message") or ""
    text = {"receipt": "RECEIPT", "rejection": "REJECTION"}.get(str(status), str(status))
    return " ".join(p for p in (text, str(code), f"({message})" if message else "") if p)


def _excerpt(body: bytes, limit: int = 160) -> str:
    """The start of a body: as text when it is UTF-8, else in hex (CBOR, say)."""
    head = body[:limit]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = "0x" + head[: limit // 2].hex()
    return text + ("..." if len(body) > len(head) else "")
