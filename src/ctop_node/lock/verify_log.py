"""Standalone verifier of a lock's event log (reader side).

Shares only the digest rule (:mod:`._chain`) with the writer in :mod:`.events`, as X-Road's
archive verifier shares only the hash-chain rule with the message log: a bug in the writer
cannot hide itself from the check. Checks, in order, for each entry:

- the device certificate is issued by a trusted carrier CA, names this lock and is valid at
  every event time and at the reading time      -> ``lock.log.device_cert``
- the entry's signature verifies under it        -> ``lock.log.signature``
- counters go up by exactly one                  -> ``lock.log.counter`` (gap or replay)
  (a counter lower than the previous one         -> ``lock.log.reordered``)
- times never go back                            -> ``lock.log.reordered``
- hash(prev || event) equals the stored hash     -> ``lock.log.broken_chain``
- given the reader's ``nonce``: the last event is the device's authority reading over that
  nonce                                          -> ``lock.log.unconfirmed``

Truncation of the newest events cannot be seen from the log alone: a copy of the image with
an event and everything after it removed is a valid, shorter log. So the arrival reader
sends the device a fresh nonce, the device appends a ``READ_BY_AUTHORITY`` event over it
(signed and chained to everything before it) and only then hands out the image; a log that
does not end with that event is a truncated or an old copy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.x509.oid import NameOID

from ctop_node.lock import _chain, cbor
from ctop_node.lock.errors import CborError, LogError

# The authority-reading event code as the verifier sees it (it does not import the writer).
_READ_BY_AUTHORITY = 18


@dataclass(frozen=True, slots=True)
class VerifiedEvent:
    counter: int
    time: datetime
    code: int
    data: Mapping[str, Any]


def verify_log(
    lock_id: str,
    entries: Sequence[Any],
    device_cert: x509.Certificate,
    trusted_cas: Sequence[x509.Certificate],
    *,
    at: datetime | None = None,
    nonce: str | None = None,
) -> list[VerifiedEvent]:
    """Verify the whole log of ``lock_id``; return its events or raise ``LogError``. With
    ``nonce`` (the reader's fresh challenge) the log must end with the device's authority
    reading over it."""
    at = at or datetime.now(UTC)
    parsed = [_parse_entry(i, e) for i, e in enumerate(entries, start=1)]
    times = [t for _, _, _, (_, t, _, _) in parsed]
    try:
        _check_device_cert(lock_id, device_cert, trusted_cas, [*times, int(at.timestamp())])
        public_key = device_cert.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        # cryptography parses some certificate parts lazily: a broken one fails here.
        raise LogError(
            f"device certificate of lock {lock_id} cannot be read: {exc}",
            code="lock.log.device_cert",
        ) from exc
    assert isinstance(public_key, Ed25519PublicKey)  # checked by _check_device_cert
    counters = [fields[0] for _, _, _, fields in parsed]
    # Every event present but out of order is a reordering, not a gap.
    shuffled = counters != sorted(counters) and sorted(counters) == list(
        range(1, len(counters) + 1)
    )
    prev_hash = _chain.genesis(lock_id)
    prev_counter, prev_time = 0, None
    events: list[VerifiedEvent] = []
    for position, (event_bytes, entry_hash, signature, fields) in enumerate(parsed, start=1):
        counter, time, code, data = fields
        try:
            public_key.verify(signature, entry_hash)
        except InvalidSignature:
            raise LogError(
                f"entry {position}: the device signature does not verify",
                code="lock.log.signature",
            ) from None
        if counter < prev_counter or (shuffled and counter != prev_counter + 1):
            raise LogError(
                f"entry {position}: event {counter} comes after event {prev_counter}",
                code="lock.log.reordered",
            )
        if counter != prev_counter + 1:
            what = "replayed" if counter == prev_counter else "missing events before it"
            raise LogError(
                f"entry {position}: counter {counter} after {prev_counter} ({what})",
                code="lock.log.counter",
            )
        if prev_time is not None and time < prev_time:
            raise LogError(
                f"entry {position}: event {counter} is dated before the previous event",
                code="lock.log.reordered",
            )
        if _chain.link(prev_hash, event_bytes) != entry_hash:
            raise LogError(
                f"entry {position}: event {counter} does not chain to the previous entry",
                code="lock.log.broken_chain",
            )
        events.append(VerifiedEvent(counter, datetime.fromtimestamp(time, UTC), code, data))
        prev_hash, prev_counter, prev_time = entry_hash, counter, time
    if nonce is not None:
        last = events[-1] if events else None
        if last is None or last.code != _READ_BY_AUTHORITY or last.data.get("nonce") != nonce:
            raise LogError(
                f"the log of lock {lock_id} does not end with the device's signed authority "
                "reading over this reader's challenge: a truncated log or an old copy",
                code="lock.log.unconfirmed",
            )
    return events


_Fields = tuple[int, int, int, dict[str, Any]]


def _parse_entry(position: int, entry: Any) -> tuple[bytes, bytes, bytes, _Fields]:
    def bad(why: str) -> LogError:
        return LogError(f"entry {position}: {why}", code="lock.log.malformed")

    if not isinstance(entry, dict) or set(entry) != {"e", "h", "s"}:
        raise bad("not a log entry")
    event_bytes, entry_hash, signature = entry["e"], entry["h"], entry["s"]
    if not (
        isinstance(event_bytes, bytes)
        and isinstance(entry_hash, bytes)
        and len(entry_hash) == _chain.DIGEST_SIZE
        and isinstance(signature, bytes)
        and len(signature) == 64
    ):
        raise bad("wrong field types or sizes")
    try:
        event = cbor.decode(event_bytes, max_size=4096, max_depth=4, allowed_tags=frozenset())
    except CborError as exc:
        raise bad(f"event is not valid CBOR ({exc.code})") from exc
    if not isinstance(event, dict) or set(event) != {"n", "t", "c", "d"}:
        raise bad("event does not have the fields n, t, c, d")
    n, t, c, d = event["n"], event["t"], event["c"], event["d"]
    if not (_is_int(n) and n >= 1 and _is_int(t) and t >= 0 and _is_int(c) and isinstance(d, dict)):
        raise bad("event fields have the wrong types")
    if t > 253402300799:  # 9999-12-31: beyond what datetime can show
        raise bad("event time out of range")
    return event_bytes, entry_hash, signature, (n, t, c, d)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_device_cert(
    lock_id: str,
    cert: x509.Certificate,
    trusted_cas: Sequence[x509.Certificate],
    times: Sequence[int],
) -> None:
    def bad(why: str) -> LogError:
        return LogError(f"device certificate of lock {lock_id}: {why}", code="lock.log.device_cert")

    issuers = [ca for ca in trusted_cas if ca.subject == cert.issuer]
    if not any(_issued_by(cert, ca) for ca in issuers):
        raise bad("not issued by a trusted carrier CA")
    ca = next(ca for ca in issuers if _issued_by(cert, ca))
    names = {a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)}
    if names != {lock_id}:
        raise bad(f"issued to {', '.join(map(str, sorted(names, key=str))) or 'nobody'}")
    if not isinstance(cert.public_key(), Ed25519PublicKey):
        raise bad("not an Ed25519 device key")
    for c, what in ((cert, "the device certificate"), (ca, "the carrier CA certificate")):
        start, end = c.not_valid_before_utc.timestamp(), c.not_valid_after_utc.timestamp()
        for t in times:
            if not start <= t <= end:
                when = datetime.fromtimestamp(t, UTC).isoformat()
                raise bad(f"{what} is not valid at {when}")


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
        if not constraints.ca:
            return False
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False
    return True
