"""Canonical bytes and digest of a record: the same on both nodes and on both channels.

The digest of a record version is SHA-256 over JSON with sorted keys, no insignificant
whitespace, Decimals as strings and datetimes in ISO 8601 with their offsets. The online
copy and the smart-lock copy of one version must produce the same digest.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from pydantic import BaseModel


def canonical_dict(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


def canonical_bytes(data: BaseModel | dict[str, Any]) -> bytes:
    if isinstance(data, BaseModel):
        data = canonical_dict(data)
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def digest(data: BaseModel | dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else canonical_bytes(data)
    return hashlib.sha256(raw).hexdigest()
