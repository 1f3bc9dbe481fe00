"""Errors of the smart-lock domain, each with a stable code.

LockError                   (ctop_node.errors)  lock
├── CborError               lock.cbor.*         trailing, depth, size, duplicate_key,
│                                               malformed, type, noncanonical
├── LogError                lock.log.*          broken_chain, counter, signature,
│                                               reordered, device_cert, malformed,
│                                               unconfirmed (no reading over the nonce)
├── StateError              lock.state          transition not allowed in this state
├── ReplayError             lock.replay.*       wrong_lock, counter, expired, payload_id
├── FrameError              lock.frame.*        bad frame, wrong transfer, incomplete
├── CapacityError           lock.capacity       payload larger than the lock holds
├── LockFileError           lock.file.*         not a lock image, unreadable, I/O
└── PayloadError            lock.payload.*      payload cannot be opened, is not ours,
                                                or expired
"""

from __future__ import annotations

from ctop_node.errors import LockError


class CborError(LockError):
    code = "lock.cbor.malformed"


class LogError(LockError):
    code = "lock.log.malformed"


class StateError(LockError):
    code = "lock.state"


class ReplayError(LockError):
    code = "lock.replay"


class FrameError(LockError):
    code = "lock.frame"


class CapacityError(LockError):
    code = "lock.capacity"


class LockFileError(LockError):
    code = "lock.file"


class PayloadError(LockError):
    code = "lock.payload"
