"""The record of Art.1: goods and rail transport information of one export clearance.

A ``Consignment`` is what one export (or transit) clearance produced for one transport unit.
It is identified by ``record_id`` chosen by the sending Party; the store numbers its versions.
The model knows no database and no screen.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ctop_node.model.identifiers import (
    check_container_number,
    check_country,
    check_currency,
    check_hs_code,
    check_wagon_number,
)

Country = Annotated[str, AfterValidator(check_country)]
Currency = Annotated[str, AfterValidator(check_currency)]
HsCode = Annotated[str, AfterValidator(check_hs_code)]
ContainerNumber = Annotated[str, AfterValidator(check_container_number)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9_\-/.]{0,63}$")]
RecordId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-/.:]{0,127}$")]


def _places(n: int) -> AfterValidator:
    # One spelling per value ("24000" and "24000.000" are the same mass): the digest of a
    # record must not depend on how the clearance system wrote its numbers.
    quantum = Decimal(1).scaleb(-n)
    return AfterValidator(lambda d: d.quantize(quantum))


Mass = Annotated[Decimal, Field(ge=0, max_digits=15, decimal_places=3), _places(3)]
Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2), _places(2)]
Quantity = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=3), _places(3)]
Count = Annotated[int, Field(ge=0, le=10_000_000)]


class _Strict(BaseModel):
    # Unknown fields are errors: the technical conditions fix the data set (Art.1, Art.3).
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Procedure(StrEnum):
    EXPORT = "export"
    TRANSIT = "transit"


class Channel(StrEnum):
    """Carrier's wish for the channel of Art.2: online, the smart lock, or both."""

    ONLINE = "online"
    LOCK = "lock"
    BOTH = "both"


class Declaration(_Strict):
    number: ShortText
    date: date
    customs_office: Code
    procedure: Procedure


class Party(_Strict):
    """Exporter/consignor, consignee or carrier; national_id is a BIN (KZ), USCC (CN) ..."""

    name: Text
    country: Country
    national_id: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{6,20}$")] | None = None


class Station(_Strict):
    code: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{4,8}$")]
    name: Text | None = None
    country: Country


class Train(_Strict):
    number: ShortText
    departure_station: Station
    crossing_point: Code
    planned_crossing_at: AwareDatetime


class Wagon(_Strict):
    number: ShortText
    gauge: Literal["1520", "1435"] = "1520"

    @model_validator(mode="after")
    def _check_number(self) -> Wagon:
        try:
            check_wagon_number(self.number, self.gauge)
        except PydanticCustomError as exc:
            raise PydanticCustomError(exc.type, exc.message(), {"field_loc": ("number",)}) from None
        return self


class Container(_Strict):
    number: ContainerNumber
    wagon_number: ShortText
    size_type: Annotated[str, StringConstraints(pattern=r"^[0-9][0-9A-Z][A-Z0-9]{2}$")]
    gross_mass_kg: Mass
    seals: list[ShortText] = Field(default_factory=list, max_length=16)
    smart_lock_id: ShortText | None = None


class GoodsItem(_Strict):
    container_number: ContainerNumber
    hs_code: HsCode
    description: Text
    packages: Count
    package_type: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2}$")] | None = None
    gross_mass_kg: Mass
    net_mass_kg: Mass
    value: Money
    currency: Currency
    quantity: Quantity | None = None
    unit: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,3}$")] | None = None

    @model_validator(mode="after")
    def _net_not_above_gross(self) -> GoodsItem:
        if self.net_mass_kg > self.gross_mass_kg:
            raise PydanticCustomError(
                "record.goods.net_above_gross",
                "net mass {net} kg is above gross mass {gross} kg",
                {
                    "net": str(self.net_mass_kg),
                    "gross": str(self.gross_mass_kg),
                    "field_loc": ("net_mass_kg",),
                },
            )
        return self


class Route(_Strict):
    dispatch_country: Country
    destination_country: Country
    transit_countries: list[Country] = Field(default_factory=list, max_length=20)

    def sequence(self) -> list[str]:
        """Countries in travel order: dispatch, transit..., destination."""
        return [self.dispatch_country, *self.transit_countries, self.destination_country]


class TransportDocument(_Strict):
    type: Literal["SMGS", "CIM", "CIM/SMGS"]
    number: ShortText


class Flags(_Strict):
    """What the Protocol's rules need: Art.2 exclusions and Art.6 refusal."""

    personal_use: bool = False
    postal_item: bool = False
    state_secret: bool = False


class Consignment(_Strict):
    record_id: RecordId
    sender_party: Country | None = None
    declaration: Declaration
    exporter: Party
    consignee: Party
    carrier: Party
    train: Train
    wagons: list[Wagon] = Field(min_length=1, max_length=100)
    containers: list[Container] = Field(default_factory=list, max_length=200)
    goods: list[GoodsItem] = Field(min_length=1, max_length=999)
    route: Route
    transport_document: TransportDocument
    flags: Flags = Field(default_factory=Flags)
    channel: Channel = Channel.ONLINE
    issued_at: datetime | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Consignment:
        wagons = {w.number for w in self.wagons}
        containers = {c.number: c for c in self.containers}
        for i, c in enumerate(self.containers):
            if c.wagon_number not in wagons:
                raise _at(
                    ("containers", i, "wagon_number"),
                    "record.container.unknown_wagon",
                    f"container {c.number} is on wagon {c.wagon_number}, "
                    "which is not among the record's wagons",
                )
        item_mass: dict[str, Decimal] = {}
        for i, g in enumerate(self.goods):
            if g.container_number not in containers:
                raise _at(
                    ("goods", i, "container_number"),
                    "record.goods.unknown_container",
                    f"goods item {i + 1} is in container {g.container_number}, "
                    "which is not among the record's containers",
                )
            item_mass[g.container_number] = (
                item_mass.get(g.container_number, Decimal(0)) + g.gross_mass_kg
            )
        for i, c in enumerate(self.containers):
            if item_mass.get(c.number, Decimal(0)) > c.gross_mass_kg:
                raise _at(
                    ("containers", i, "gross_mass_kg"),
                    "record.container.mass",
                    f"goods in container {c.number} weigh {item_mass[c.number]} kg gross, "
                    f"more than the container's gross mass {c.gross_mass_kg} kg",
                )
        return self


def _at(loc: tuple[str | int, ...], code: str, message: str) -> PydanticCustomError:
    # Pydantic reports model-validator errors at the model's own path; we carry the
    # field's path in the context so the error names the field that is wrong.
    return PydanticCustomError(code, message, {"field_loc": loc})
