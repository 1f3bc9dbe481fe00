"""The CSV form of a record, derived from the pydantic model: one row per goods item.

Record-level fields are flattened to dotted columns (``declaration.number``,
``train.departure_station.code``); the members of each list of objects get the member's name as
prefix (``wagon.number``, ``container.size_type``, ``item.hs_code``); lists of scalars are
``;``-separated (``route.transit_countries``, ``container.seals``). A row's container sits on the
row's wagon and its goods item in the row's container, so ``container.wagon_number`` and
``item.container_number`` are implied (an explicit column still wins).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel

from ctop_node.ingest._shape import RECORD_MODEL, fields_of, item_name

LIST_SEP = ";"
# list field -> (its field naming the parent member, the parent list field)
LINKS = {"containers": ("wagon_number", "wagons"), "goods": ("container_number", "containers")}


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    segment: str | None  # list field the column belongs to (``goods``), None for the record
    path: tuple[str, ...]  # inside the record, or inside one member of ``segment``
    is_list: bool  # a ``;``-separated list of scalars


def segments() -> dict[str, str]:
    """List-of-object fields of the record and their column prefix: goods -> item."""
    return {
        name: item_name(name)
        for name, shape in fields_of(RECORD_MODEL).items()
        if shape.is_list and shape.model is not None
    }


def _flat(model: type[BaseModel], skip: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], bool]]:
    out: list[tuple[tuple[str, ...], bool]] = []
    for name, shape in fields_of(model).items():
        if name in skip:
            continue
        if shape.kind == "model" and shape.model is not None:
            out += [((name, *p), lst) for p, lst in _flat(shape.model)]
        elif shape.kind == "list" and shape.model is not None:
            continue  # a segment, or a nested list of objects that CSV cannot carry
        else:
            out.append(((name,), shape.is_list))
    return out


@cache
def csv_columns() -> tuple[str, ...]:
    """The canonical header, in model order: record columns, then each segment's."""
    names = [".".join(p) for p, _ in _flat(RECORD_MODEL)]
    for field, prefix in segments().items():
        member = fields_of(RECORD_MODEL)[field].model
        assert member is not None
        link = LINKS.get(field, ("",))[0]
        names += [f"{prefix}." + ".".join(p) for p, _ in _flat(member, (link,))]
    return tuple(names)


def column(name: str) -> Column:
    """How a header cell maps into the record; unknown names are kept so validation names them."""
    parts = tuple(p.strip() for p in name.split("."))
    by_prefix = {prefix: field for field, prefix in segments().items()}
    segment = by_prefix.get(parts[0]) if len(parts) > 1 else None
    path = parts[1:] if segment else parts
    model: type[BaseModel] | None = (
        fields_of(RECORD_MODEL)[segment].model if segment else RECORD_MODEL
    )
    is_list = False
    for part in path:
        shape = fields_of(model).get(part) if model is not None else None
        if shape is None:
            is_list = False
            break
        is_list = shape.is_list and shape.model is None
        model = shape.model
    return Column(name.strip(), segment, path, is_list)


def put(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        nxt = target.setdefault(part, {})
        if not isinstance(nxt, dict):  # a column ``a`` and a column ``a.b``: keep the first
            return
        target = nxt
    target.setdefault(path[-1], value)


# ---- dict -> rows ----------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return LIST_SEP.join(_cell(v) for v in value)
    return str(value)


def _flatten(
    data: Mapping[str, Any], prefix: str, out: dict[str, str], skip: tuple[str, ...]
) -> None:
    for key, value in data.items():
        if key in skip:
            continue
        if isinstance(value, Mapping):
            _flatten(value, f"{prefix}{key}.", out, ())
        else:
            out[prefix + key] = _cell(value)


def to_csv_rows(record: Mapping[str, Any]) -> list[dict[str, str]]:
    """The rows of one record (header name -> cell), one per goods item, then one per container
    without goods and one per wagon without containers."""
    segs = segments()
    base: dict[str, str] = {}
    _flatten({k: v for k, v in record.items() if k not in segs}, "", base, ())
    wagons = {w.get("number"): w for w in record.get("wagons") or []}
    containers = {c.get("number"): c for c in record.get("containers") or []}

    def member(field: str, data: Mapping[str, Any] | None, number: Any) -> dict[str, str]:
        out: dict[str, str] = {}
        link = LINKS.get(field, ("",))[0]
        _flatten(data if data is not None else {"number": number}, f"{segs[field]}.", out, (link,))
        return out

    rows: list[dict[str, str]] = []
    used_c: set[Any] = set()
    used_w: set[Any] = set()
    for goods_item in record.get("goods") or []:
        c_no = goods_item.get("container_number")
        container = containers.get(c_no)
        w_no = container.get("wagon_number") if container else None
        row = dict(base)
        if w_no is not None:
            row |= member("wagons", wagons.get(w_no), w_no)
            used_w.add(w_no)
        row |= member("containers", container, c_no)
        row |= member("goods", goods_item, None)
        used_c.add(c_no)
        rows.append(row)
    for c_no, container in containers.items():
        if c_no in used_c:
            continue
        w_no = container.get("wagon_number")
        used_w.add(w_no)
        rows.append(
            base | member("wagons", wagons.get(w_no), w_no) | member("containers", container, c_no)
        )
    for w_no, wagon in wagons.items():
        if w_no not in used_w:
            rows.append(base | member("wagons", wagon, w_no))
    return rows
