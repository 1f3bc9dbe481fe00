"""The codes the kit expects where the spec (docs/rejection-codes.md, docs/protocol/) names
a rule, in one place so that a change of the spec is a change of one line here."""

from __future__ import annotations

# Rejections (class 12-93): a signed REJECTION naming the code.
CANCELLED = "exchange.cancelled"  # an AMENDMENT of a cancelled record
CANCEL_UNRECEIVED = "exchange.unknown_version"  # cancelling a version never received
CLOCK_SKEW = "exchange.clock_skew"  # created_at outside the allowed skew (online channel)
DUPLICATE_ID = "exchange.duplicate_message_id"
OUT_OF_SEQUENCE = "exchange.out_of_sequence"
UNKNOWN_RECORD = "exchange.unknown_record"
UNKNOWN_TC = "tc.unknown_version"
UNEXPECTED_TYPE = "exchange.unexpected_type"
WRONG_ROUTE = "exchange.wrong_route"
CHECK_DIGIT = "record.container.check_digit"
HEADER = "exchange.header"  # the header does not match the payload
MANIFEST = "exchange.manifest"  # the signed manifest of a MANIFEST does not verify

# Security refusals (class S): item status "refused", no signed answer.
BAD_SIGNATURE = "crypto.bad_signature"
DECRYPT = "crypto.decrypt"
MALFORMED = "crypto.malformed"
UNKNOWN_KEY = "crypto.unknown_key"
WRONG_RECIPIENT = "crypto.wrong_recipient"
CERT_EXPIRED = "crypto.cert_expired"
CERT_REVOKED = "crypto.cert_revoked"
SENDER_MISMATCH = "crypto.sender_mismatch"
PLAINTEXT = "crypto.plaintext"

# Whole-request errors: HTTP status and the JSON body's code.
TOO_LARGE = (413, "exchange.too_large")
TOO_MANY = (413, "exchange.too_many_messages")
BAD_BATCH = (400, "exchange.bad_batch")
CONTENT_TYPE = (415, "exchange.content_type")

MAX_BODY = 16 * 1024 * 1024
MAX_MESSAGES = 500
SKEW_BEYOND_S = 20 * 60  # the spec allows +-10 min; the kit tries twice that
