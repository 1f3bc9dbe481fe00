"""The one error tree of ctop-node.

Every error carries a stable ``code`` (dotted, lower case) that tests, reports
and the peer rely on, and a message a customs officer can act on.

    CtopError
    ├── UsageError              bad command line or configuration (exit 2)
    ├── ConfigError             node not initialised, unknown party, bad settings
    ├── RecordError             one record is bad; names the record and the field
    │   └── ValidationFailed    several field errors of one record
    ├── RefusedError            Art.6: the record must never be exchanged
    ├── InputError              a file or line cannot be read at all
    ├── TcError                 technical-conditions registry (unknown version ...)
    ├── StorageError            the database refused or failed
    ├── CryptoError             keys, certificates, signatures, decryption
    ├── TransportError          the peer cannot be reached or answered badly
    ├── LockError               smart-lock payloads, devices and event logs
    ├── AccessError             login, sessions, tokens, the access check
    ├── AuditError              Art.6: audit chain, consent register, exports, evidence
    └── ReportError             evaluation reports, signed manifests, reconciliation
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One bad field of one record: what a rejection reports per field."""

    record_id: str | None
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str | None]:
        return {
            "record_id": self.record_id,
            "field": self.field,
            "code": self.code,
            "message": self.message,
        }


class CtopError(Exception):
    """Base of every error the project raises on purpose."""

    code: str = "ctop.error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class UsageError(CtopError):
    code = "usage"


class ConfigError(CtopError):
    code = "config"


class InputError(CtopError):
    """A file, line or element that cannot be read as a record at all."""

    code = "input"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        source: str = "",
        position: str = "",
        field: str = "$",
        record_id: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.source = source
        self.position = position
        self.field = field  # JSON path inside the record, when the reader knows it
        self.record_id = record_id  # the record's id as read, when the reader knows it


class RecordError(CtopError):
    code = "record"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        record_id: str | None = None,
        field: str = "$",
    ) -> None:
        super().__init__(message, code=code)
        self.record_id = record_id
        self.field = field

    def field_errors(self) -> list[FieldError]:
        return [FieldError(self.record_id, self.field, self.code, self.message)]


class ValidationFailed(RecordError):
    """A record broke one or more rules of the technical conditions."""

    code = "record.invalid"

    def __init__(self, record_id: str | None, errors: list[FieldError]) -> None:
        first = errors[0] if errors else FieldError(record_id, "$", self.code, "invalid")
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(
            f"record {record_id or '?'}: {first.field}: {first.message}{more}",
            record_id=record_id,
            field=first.field,
        )
        self.errors = errors

    def field_errors(self) -> list[FieldError]:
        return list(self.errors)


class RefusedError(RecordError):
    code = "record.refused"


class TcError(CtopError):
    code = "tc"


class StorageError(CtopError):
    code = "store"


class CryptoError(CtopError):
    code = "crypto"


class TransportError(CtopError):
    code = "transport"


class LockError(CtopError):
    code = "lock"


class AccessError(CtopError):
    """Login, sessions, tokens and the access check (``access.*`` codes)."""

    code = "access"


class AuditError(CtopError):
    """Art.6: a broken audit chain, an export refused for want of consent, a bad evidence
    bundle (the code names which: ``audit.*``, ``consent.*``, ``evidence.*``)."""

    code = "audit"


class ReportError(CtopError):
    """A report cannot be made, or a manifest is refused (bad signature, wrong shape)."""

    code = "report.error"
