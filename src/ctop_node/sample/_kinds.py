"""The kinds of train a node sees, each from the side of the Party whose node records it.

A kind fixes the route (dispatch, transit, destination), the procedure, the goods, the wagons'
gauge and the waybill; ``applicable`` says whether Art.2 sends its records to the peer.
"""

from __future__ import annotations

from dataclasses import dataclass

from ctop_node.sample._reference import CN_EU_GOODS, CN_KZ_GOODS, KZ_CN_GOODS, Commodity

# (transit countries, destination, weight)
RouteChoice = tuple[tuple[str, ...], str, float]

_TO_EUROPE: tuple[RouteChoice, ...] = (
    (("KZ", "RU", "BY"), "PL", 0.4),
    (("KZ", "RU", "BY", "PL"), "DE", 0.5),
    (("KZ", "RU", "BY", "PL", "DE"), "NL", 0.1),
)


@dataclass(frozen=True, slots=True)
class TrainKind:
    name: str
    sender: str  # Party whose node produced the records
    procedure: str  # "export" or "transit"
    dispatch: str
    routes: tuple[RouteChoice, ...]
    goods: tuple[Commodity, ...]
    consolidated: bool  # several shippers' goods per container (1-6 items) vs bulk lots
    gauge: str  # wagons the sender's railway runs the train on
    document: str  # SMGS or CIM/SMGS
    from_border: bool  # departs from the border station (transit after transshipment)
    applicable: bool  # Art.2: the sender's node sends these to the peer
    train_prefix: str
    weight: float  # share among the sender's applicable (or not applicable) trains


KINDS: tuple[TrainKind, ...] = (
    TrainKind(
        "kz_export_cn",
        "KZ",
        "export",
        "KZ",
        (((), "CN", 0.85), (("CN",), "VN", 0.08), (("CN",), "KR", 0.07)),
        KZ_CN_GOODS,
        False,
        "1520",
        "SMGS",
        False,
        True,
        "",
        1.0,
    ),
    # China-Europe trains as the KZ transit declaration sees them: nothing after KZ is a peer.
    TrainKind(
        "kz_transit_cn_eu",
        "KZ",
        "transit",
        "CN",
        _TO_EUROPE,
        CN_EU_GOODS,
        True,
        "1520",
        "CIM/SMGS",
        True,
        False,
        "",
        1.0,
    ),
    TrainKind(
        "cn_export_eu",
        "CN",
        "export",
        "CN",
        _TO_EUROPE,
        CN_EU_GOODS,
        True,
        "1435",
        "CIM/SMGS",
        False,
        True,
        "X80",
        0.55,
    ),
    TrainKind(
        "cn_export_kz",
        "CN",
        "export",
        "CN",
        (((), "KZ", 1.0),),
        CN_KZ_GOODS,
        True,
        "1435",
        "SMGS",
        False,
        True,
        "X90",
        0.30,
    ),
    TrainKind(
        "cn_export_uz",
        "CN",
        "export",
        "CN",
        ((("KZ",), "UZ", 0.8), (("KZ",), "KG", 0.2)),
        CN_KZ_GOODS,
        True,
        "1435",
        "SMGS",
        False,
        True,
        "X92",
        0.15,
    ),
    # Kazakh grain and metals through China to the sea ports: CN is the last Party on the route.
    TrainKind(
        "cn_transit_kz_sea",
        "CN",
        "transit",
        "KZ",
        ((("CN",), "VN", 0.4), (("CN",), "KR", 0.35), (("CN",), "JP", 0.25)),
        KZ_CN_GOODS,
        False,
        "1435",
        "SMGS",
        True,
        False,
        "X95",
        1.0,
    ),
)


def kind_weights(party: str | None, not_applicable_share: float) -> list[tuple[TrainKind, float]]:
    """Each kind with its share of trains for a node of ``party`` (both Parties: half each)."""
    parties = [party] if party else ["KZ", "CN"]
    out: list[tuple[TrainKind, float]] = []
    for p in parties:
        mine = [k for k in KINDS if k.sender == p]
        for applicable, share in ((True, 1 - not_applicable_share), (False, not_applicable_share)):
            group = [k for k in mine if k.applicable is applicable]
            total = sum(k.weight for k in group)
            out.extend((k, share * k.weight / total / len(parties)) for k in group)
    return out
