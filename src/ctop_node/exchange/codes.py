"""The documented list of rejection codes, numbered by class the way NCTS numbers its errors.

Every error a receiver reports carries a stable dotted ``code`` (what tests, senders and
reports rely on); the table gives its numeric class and an English description. Classes:

    12  missing or badly formatted data element      (NCTS 12)
    13  code-list violation                          (NCTS 13)
    14  wrong data type                              (NCTS 14)
    15  rule or condition violation, wrong route     (NCTS 12-15 rule/condition)
    26  duplicate message id                         (NCTS 26)
    90  unknown reference: the record is not known   (NCTS 90)
    92  message out of sequence                      (NCTS 92)
    93  invalid check digit                          (NCTS 93)
    S   security: refused, never stored, never answered with a signed REJECTION

``docs/rejection-codes.md`` is generated from this table (``render_markdown``); a test keeps
the two equal. A dotted code not in the table falls back to its longest listed prefix
(``record.code_list.country`` -> ``record.code_list``), so new model rules keep a class.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CodeInfo:
    code: str
    klass: str  # "12".."93", or "S" for security refusals
    description: str


_TABLE: tuple[CodeInfo, ...] = (
    # -- 12: missing or badly formatted data ---------------------------------------------
    CodeInfo("record.missing", "12", "A required data element is missing."),
    CodeInfo("record.format", "12", "A data element does not have the required format."),
    CodeInfo("record.length", "12", "A data element is too short or too long."),
    CodeInfo("record.range", "12", "A number is out of range or has too many digits."),
    CodeInfo("record.unknown_field", "12", "The record has a data element the tc do not define."),
    CodeInfo("record.datetime.offset", "12", "A date-time has no UTC offset."),
    CodeInfo("record.container.format", "12", "The container number is not ISO 6346 format."),
    CodeInfo("record.wagon.format", "12", "The wagon number does not have a known format."),
    CodeInfo("record.goods.hs_code", "12", "The HS code is not 6 to 10 digits."),
    CodeInfo("exchange.header", "12", "The envelope header does not match the payload."),
    CodeInfo(
        "exchange.not_canonical",
        "12",
        "The record payload is not in canonical JSON form, so its digest would differ "
        "between channels.",
    ),
    # -- 13: code lists ------------------------------------------------------------------
    CodeInfo("record.code_list", "13", "A value is not in its code list."),
    CodeInfo("record.code_list.country", "13", "Not an ISO 3166-1 alpha-2 country code."),
    CodeInfo("record.code_list.currency", "13", "Not an ISO 4217 currency code."),
    CodeInfo("record.goods.hs_chapter", "13", "The HS chapter does not exist."),
    CodeInfo("tc.unknown_version", "13", "The technical-conditions version is not accepted."),
    CodeInfo(
        "exchange.tc_not_agreed",
        "13",
        "The technical-conditions version is known but not named by an agreement in force "
        "between the sending and the receiving Party.",
    ),
    # -- 14: data type -------------------------------------------------------------------
    CodeInfo("record.type", "14", "A data element has the wrong type (e.g. text for a number)."),
    CodeInfo("exchange.payload", "14", "The payload is not the JSON the message type requires."),
    # -- 15: rules and conditions --------------------------------------------------------
    CodeInfo("record.invalid", "15", "The record breaks a rule of the technical conditions."),
    CodeInfo("record.container.mass", "15", "Goods weigh more than their container's gross mass."),
    CodeInfo("record.container.unknown_wagon", "15", "A container is on a wagon not listed."),
    CodeInfo("record.goods.unknown_container", "15", "Goods are in a container not listed."),
    CodeInfo("record.goods.net_above_gross", "15", "Net mass is above gross mass."),
    CodeInfo(
        "exchange.wrong_route",
        "15",
        "The route does not make the receiving Party a transit or destination country "
        "after the sending Party (Art.2).",
    ),
    CodeInfo(
        "exchange.sender_mismatch",
        "15",
        "The record's sender_party is not the Party that signed and sent the message.",
    ),
    CodeInfo(
        "exchange.manifest",
        "15",
        "The signed manifest inside a MANIFEST message does not verify against the sender's "
        "Party CA, is signed by another Party, or covers other days or another number of "
        "entries than the message names.",
    ),
    CodeInfo(
        "exchange.unexpected_type",
        "15",
        "This message type is not accepted on the peer endpoint (answers come back in "
        "the HTTP response, not as messages).",
    ),
    CodeInfo(
        "exchange.version_type",
        "15",
        "CONSIGNMENT must carry version 1 and AMENDMENT a version above 1.",
    ),
    CodeInfo(
        "exchange.clock_skew",
        "15",
        "header.created_at is further from the receiver's clock than the agreed skew "
        "(online channel; default 10 minutes either way).",
    ),
    CodeInfo(
        "exchange.cancelled",
        "15",
        "The record was cancelled by its sender; no later version is accepted.",
    ),
    # -- 26 / 90 / 92 / 93 ---------------------------------------------------------------
    CodeInfo(
        "exchange.duplicate_message_id",
        "26",
        "A different message was already received under this message id.",
    ),
    CodeInfo("exchange.unknown_record", "90", "The record referred to is unknown to the receiver."),
    CodeInfo(
        "exchange.unknown_version",
        "90",
        "The cancellation names a version of the record the receiver never received.",
    ),
    CodeInfo(
        "exchange.out_of_sequence",
        "92",
        "A version at or below the one already received, with a different content.",
    ),
    CodeInfo("record.container.check_digit", "93", "The container number's check digit is wrong."),
    CodeInfo("record.wagon.check_digit", "93", "The wagon number's check digit is wrong."),
    # -- S: security (refused: nothing stored, no signed answer) -------------------------
    CodeInfo("crypto.malformed", "S", "Not a well-formed signed envelope."),
    CodeInfo("crypto.unknown_key", "S", "Signed with a key of no trusted certificate."),
    CodeInfo("crypto.bad_signature", "S", "The signature does not verify (tampered message)."),
    CodeInfo("crypto.cert_expired", "S", "The signing certificate is not valid at that time."),
    CodeInfo("crypto.cert_revoked", "S", "The signing certificate is revoked."),
    CodeInfo("crypto.untrusted_chain", "S", "The certificate is not issued by a trusted CA."),
    CodeInfo("crypto.crl_stale", "S", "The sender Party's revocation list is out of date."),
    CodeInfo(
        "crypto.sender_mismatch", "S", "header.sender is not the signing certificate's Party."
    ),
    CodeInfo("crypto.wrong_recipient", "S", "The message is addressed to another Party."),
    CodeInfo("crypto.decrypt", "S", "The payload cannot be decrypted with our key."),
    CodeInfo("crypto.plaintext", "S", "Unencrypted messages are not accepted."),
    CodeInfo("crypto.digest_mismatch", "S", "The payload does not match its digest."),
    CodeInfo("crypto", "S", "Any other failure to authenticate the message."),
    CodeInfo(
        "exchange.internal",
        "S",
        "The receiver failed while handling this message; nothing was stored. Send it again.",
    ),
)


@dataclass(frozen=True, slots=True)
class RequestError:
    """An error of a whole request to the peer endpoint: no message of it was looked at."""

    code: str
    http: int
    description: str


# JSON body {"code", "message"}; any non-200 means nothing is known about any message.
REQUEST_ERRORS: tuple[RequestError, ...] = (
    RequestError(
        "exchange.bad_batch",
        400,
        "The body is not exactly one CBOR array of byte strings (one sealed message each).",
    ),
    RequestError("exchange.too_large", 413, "The body exceeds 16 MiB; the rest is not read."),
    RequestError("exchange.too_many_messages", 413, "The batch holds more than 500 messages."),
    RequestError("exchange.content_type", 415, "The content type is not application/cbor."),
    RequestError(
        "store.unavailable",
        503,
        "The receiving database is unavailable; nothing of the batch was stored. Retry later.",
    ),
)

CODES: dict[str, CodeInfo] = {c.code: c for c in _TABLE}
SECURITY = "S"


def info(code: str) -> CodeInfo:
    """The entry of ``code``, or of its longest listed dotted prefix; unknown -> class 15."""
    parts = code.split(".")
    while parts:
        found = CODES.get(".".join(parts))
        if found is not None:
            return found
        parts.pop()
    return CodeInfo(code, "15", "Rule violation.")


def numeric_class(code: str) -> str:
    return info(code).klass


def render_markdown() -> str:
    """The text of ``docs/rejection-codes.md``."""
    lines = [
        "# Rejection codes of the peer endpoint",
        "",
        "<!-- generated from ctop_node/exchange/codes.py: "
        "python -m ctop_node.exchange.codes > docs/rejection-codes.md -->",
        "",
        "Every per-message answer names a stable dotted `code`. Its numeric class follows "
        "the EU NCTS numbering (12 missing/format, 13 code list, 14 type, 15 rule, "
        "26 duplicate message id, 90 unknown reference, 92 out of sequence, 93 check digit). "
        "Class **S** codes are security refusals: the message could not be authenticated, "
        "nothing was stored and no signed REJECTION is returned (item status `refused`).",
        "",
        "| Class | Code | Meaning |",
        "|---|---|---|",
    ]
    for c in sorted(_TABLE, key=lambda c: (c.klass == SECURITY, c.klass, c.code)):
        lines.append(f"| {c.klass} | `{c.code}` | {c.description} |")
    lines += [
        "",
        "## Whole-request errors",
        "",
        "`POST /ctop/v1/messages` answers these with the HTTP status below and a JSON body "
        '`{"code": ..., "message": ...}`; no message of the batch was looked at or stored, '
        "so the sender keeps every message and retries the same bytes "
        "(docs/protocol/online.md).",
        "",
        "| HTTP | Code | Meaning |",
        "|---|---|---|",
    ]
    for r in REQUEST_ERRORS:
        lines.append(f"| {r.http} | `{r.code}` | {r.description} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - regenerates the doc
    import sys

    sys.stdout.write(render_markdown())
