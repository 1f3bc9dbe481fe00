"""What a record field is (scalar, object or list), read from the pydantic model itself.

The XML and CSV mappings are driven by this, so a field added to the model in a later version of
the technical conditions is carried by both formats without touching them.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from ctop_node.model.record import Consignment

RECORD_MODEL: type[BaseModel] = Consignment

# Element name of one member of a list whose plural does not end in a plain "s".
_ITEM_NAMES = {"goods": "item", "transit_countries": "country"}


def item_name(list_field: str) -> str:
    """Name of one member of the list field ``list_field``: wagons -> wagon, goods -> item."""
    if list_field in _ITEM_NAMES:
        return _ITEM_NAMES[list_field]
    return list_field[:-1] if list_field.endswith("s") else list_field


@dataclass(frozen=True, slots=True)
class Shape:
    kind: str  # "scalar", "model" or "list"
    model: type[BaseModel] | None = None  # for "model", or the item model of a "list"

    @property
    def is_list(self) -> bool:
        return self.kind == "list"


SCALAR = Shape("scalar")


def _strip(tp: Any) -> Any:
    """Remove Annotated[...] and an Optional's None arm."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin is Union or origin is types.UnionType:
            arms = [a for a in get_args(tp) if a is not type(None)]
            if len(arms) != 1:
                return tp
            tp = arms[0]
        else:
            return tp


def shape_of(tp: Any) -> Shape:
    tp = _strip(tp)
    if get_origin(tp) in (list, tuple, set, frozenset):
        args = get_args(tp)
        inner = _strip(args[0]) if args else Any
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return Shape("list", inner)
        return Shape("list")
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return Shape("model", tp)
    return SCALAR


@cache
def fields_of(model: type[BaseModel]) -> dict[str, Shape]:
    """Field name -> shape, in declaration order."""
    return {name: shape_of(info.annotation) for name, info in model.model_fields.items()}
