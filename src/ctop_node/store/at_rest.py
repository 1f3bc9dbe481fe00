"""Re-sealing the record-content columns: after a key rotation every value is read with
whichever key sealed it and written back under the current key (plaintext from before the
key was configured gets sealed too). Counts say what is sealed under which key."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import Column, LargeBinary, Table, bindparam, func, select, type_coerce, update
from sqlalchemy.engine import Engine

from ctop_node.errors import StorageError
from ctop_node.store._errors import translated
from ctop_node.store._sealed import KEY_ENV, KID_BYTES, MAGIC, Keyring, ring_of, use_key_file
from ctop_node.store.schema import inbox, lock_reads, records

__all__ = [
    "KEY_ENV",
    "KEY_FILE",
    "MAGIC",
    "Keyring",
    "SealCounts",
    "reseal",
    "seal_counts",
    "use_key_file",
]

KEY_FILE = "at-rest.json"  # in HOME/keys/, made by ``ctop-node init``

# (table, primary key, sealed column)
SEALED_COLUMNS: tuple[tuple[Table, Column[object], str], ...] = (
    (records, records.c.id, "body"),
    (inbox, inbox.c.message_id, "message"),
    (inbox, inbox.c.message_id, "payload"),
    (lock_reads, lock_reads.c.id, "image"),
)
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class SealCounts:
    """Values per key id (``"plain"`` for unsealed) per column."""

    by_column: dict[str, dict[str, int]]


def seal_counts(engine: Engine) -> SealCounts:
    """What is sealed under which key, read without decrypting."""
    out: dict[str, dict[str, int]] = {}
    with translated("count sealed values"), engine.connect() as conn:
        for table, _pk, name in SEALED_COLUMNS:
            # type_coerce: read the stored bytes as they are, without opening them
            head = func.substr(type_coerce(table.c[name], LargeBinary), 1, len(MAGIC) + KID_BYTES)
            counts: Counter[str] = Counter()
            for (prefix,) in conn.execute(select(head).where(table.c[name].is_not(None))):
                data = bytes(prefix or b"")
                counts[data[len(MAGIC) :].hex() if data[: len(MAGIC)] == MAGIC else "plain"] += 1
            out[f"{table.name}.{name}"] = dict(counts)
    return SealCounts(out)


def reseal(engine: Engine) -> int:
    """Write every sealed column back under the engine's current key; returns the values
    rewritten. Needs the key ring (all keys that sealed something)."""
    if ring_of(engine.dialect) is None:
        raise StorageError("no at-rest key: set CTOP_AT_REST_KEY_FILE", code="store.at_rest_key")
    done = 0
    with translated("re-seal record content"), engine.begin() as conn:
        for table, pk, name in SEALED_COLUMNS:
            col = table.c[name]
            stmt = (
                update(table)
                .where(pk == bindparam("k"))
                .values({name: bindparam("v", type_=col.type)})
            )
            after = None
            while True:
                page = select(pk, col).where(col.is_not(None)).order_by(pk).limit(_CHUNK)
                if after is not None:
                    page = page.where(pk > after)
                rows = conn.execute(page).all()
                if not rows:
                    break
                conn.execute(stmt, [{"k": r[0], "v": r[1]} for r in rows])
                done += len(rows)
                after = rows[-1][0]
    return done
