"""Reference lists the sample generator draws from: companies, stations, offices, goods.

Names of shippers and consignees are invented; carriers are the real operators of the corridor.
Station (ESR / TMIS) and customs-office codes follow the real formats (6-digit ESR and 5-digit
offices in KZ, 5-digit stations and 4-digit offices in CN) but, apart from the test fixture's
Almaty-1 and Dostyk, are illustrative and not checked against the official lists.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StationRef:
    code: str
    name: str
    country: str
    office: str  # customs office that clears goods loaded here


@dataclass(frozen=True, slots=True)
class Commodity:
    """One kind of goods with what it typically weighs, costs and is packed in."""

    hs: str
    description: str
    unit: str  # UN/ECE Rec. 20 unit of the quantity
    unit_kg: float  # net kilograms per unit of quantity
    usd_per_unit: float
    package_type: str  # UN/ECE Rec. 21
    units_per_package: int  # 0: the whole lot is one package (bulk liner, flexitank)
    package_kg: float  # tare of one package
    payload_kg: tuple[int, int]  # typical goods gross per container
    sizes: tuple[str, ...]  # ISO 6346 size/type codes it travels in


# ISO 6346 size/type: tare range in kg.
TARE_KG: dict[str, tuple[int, int]] = {
    "45G1": (3_800, 4_000),  # 40' high cube
    "42G1": (3_700, 3_850),  # 40' general purpose
    "22G1": (2_150, 2_350),  # 20' general purpose
}
MAX_GROSS_KG = 30_480

LIGHT = ("45G1", "45G1", "45G1", "42G1")
HEAVY = ("22G1", "22G1", "42G1")

# Columns: HS, description / unit, net kg per unit, USD per unit, package type, units per
# package, package tare kg, goods gross per container (kg), container size/types.

# China -> Europe (and Central Asia) consolidated cargo.
# fmt: off
CN_EU_GOODS: tuple[Commodity, ...] = (
    Commodity("847130", "Portable automatic data-processing machines (laptop computers)",
              "PCE", 2.1, 410.0, "CT", 5, 1.8, (4_000, 9_000), LIGHT),
    Commodity("851713", "Smartphones",
              "PCE", 0.32, 175.0, "CT", 20, 1.2, (3_000, 7_000), LIGHT),
    Commodity("851762", "Routers and switches for data transmission",
              "PCE", 0.7, 38.0, "CT", 10, 1.5, (4_000, 9_000), LIGHT),
    Commodity("870899", "Parts and accessories of motor vehicles, n.e.s.",
              "KGM", 1.0, 6.2, "PX", 450, 25.0, (9_000, 20_000), LIGHT),
    Commodity("870830", "Brakes and servo-brakes and parts thereof",
              "KGM", 1.0, 5.1, "PX", 600, 25.0, (12_000, 21_000), LIGHT),
    Commodity("610910", "T-shirts, singlets and other vests of cotton, knitted",
              "PCE", 0.19, 2.6, "CT", 60, 0.9, (4_000, 8_000), LIGHT),
    Commodity("620342", "Men's trousers and shorts of cotton",
              "PCE", 0.55, 7.4, "CT", 30, 1.0, (5_000, 10_000), LIGHT),
    Commodity("847989", "Machines and mechanical appliances having individual functions, n.e.s.",
              "PCE", 430.0, 8800.0, "CS", 1, 60.0, (6_000, 18_000), LIGHT),
    Commodity("854143", "Photovoltaic cells assembled in modules (solar panels)",
              "PCE", 27.5, 105.0, "PX", 31, 22.0, (14_000, 22_000), LIGHT),
    Commodity("950300", "Toys, puzzles and scale models",
              "PCE", 0.8, 6.1, "CT", 24, 1.1, (3_000, 7_000), LIGHT),
)
# fmt: on

# China -> Kazakhstan and Central Asia.
# fmt: off
CN_KZ_GOODS: tuple[Commodity, ...] = (
    Commodity("870380", "Motor cars with only an electric motor for propulsion",
              "PCE", 1750.0, 14500.0, "NE", 1, 0.0, (3_500, 7_200), ('45G1',)),
    Commodity("870323", "Motor cars, spark-ignition engine of 1,500-3,000 cc",
              "PCE", 1420.0, 11800.0, "NE", 1, 0.0, (2_800, 5_800), ('45G1',)),
    Commodity("841821", "Household refrigerators, compression-type",
              "PCE", 62.0, 215.0, "CT", 1, 4.5, (3_500, 7_500), LIGHT),
    Commodity("640299", "Footwear with outer soles and uppers of rubber or plastics",
              "NPR", 0.75, 5.8, "CT", 12, 0.9, (4_000, 8_000), LIGHT),
    Commodity("640411", "Sports footwear with textile uppers",
              "NPR", 0.9, 9.5, "CT", 10, 0.9, (4_000, 8_000), LIGHT),
    Commodity("392690", "Other articles of plastics",
              "KGM", 1.0, 2.9, "CT", 18, 0.7, (5_000, 12_000), LIGHT),
    Commodity("847130", "Portable automatic data-processing machines (laptop computers)",
              "PCE", 2.1, 410.0, "CT", 5, 1.8, (4_000, 9_000), LIGHT),
    Commodity("610910", "T-shirts, singlets and other vests of cotton, knitted",
              "PCE", 0.19, 2.6, "CT", 60, 0.9, (4_000, 8_000), LIGHT),
)
# fmt: on

# Kazakhstan -> China (and on to the sea ports).
# fmt: off
KZ_CN_GOODS: tuple[Commodity, ...] = (
    Commodity("100199", "Wheat, other than durum, other than seed",
              "KGM", 1.0, 0.26, "VR", 0, 35.0, (23_000, 26_000), HEAVY),
    Commodity("120400", "Linseed (flax seed), whether or not broken",
              "KGM", 1.0, 0.56, "JB", 1000, 3.0, (21_000, 25_000), HEAVY),
    Commodity("740311", "Cathodes of refined copper",
              "KGM", 1.0, 9.15, "BE", 2500, 6.0, (22_000, 26_000), ('22G1',)),
    Commodity("720241", "Ferro-chromium containing by weight more than 4 % of carbon",
              "KGM", 1.0, 1.32, "JB", 1000, 3.0, (22_000, 26_000), ('22G1',)),
    Commodity("720221", "Ferro-silicon containing by weight more than 55 % of silicon",
              "KGM", 1.0, 1.41, "JB", 1000, 3.0, (21_000, 25_000), ('22G1',)),
    Commodity("151211", "Crude sunflower-seed oil",
              "KGM", 1.0, 1.02, "VL", 0, 85.0, (21_000, 23_500), ('22G1',)),
)
# fmt: on

# What excluded records carry (Art.2): mail and the effects of people moving house.
# fmt: off
POSTAL = Commodity("490199", "International postal items: letters and small parcels (CN 23)",
                   "PCE", 0.9, 14.0, "BG", 40, 0.6, (3_000, 7_000), LIGHT)
PERSONAL = Commodity("940360", "Household effects of an individual moving residence",
                     "KGM", 1.0, 3.0, "CT", 35, 1.5, (1_500, 6_000), LIGHT)
# fmt: on

CONTAINER_OWNERS: tuple[str, ...] = (
    "CSNU",
    "TGHU",
    "TCNU",
    "TRHU",
    "BMOU",
    "FCIU",
    "SEGU",
    "GESU",
    "CAIU",
    "TKRU",
    "UETU",
    "KZTU",
    "CRSU",
    "XINU",
    "DFSU",
)

KZ_STATIONS: tuple[StationRef, ...] = (
    StationRef("690007", "Almaty-1", "KZ", "55201"),
    StationRef("700108", "Zhetygen", "KZ", "55203"),
    StationRef("685106", "Kostanay", "KZ", "39510"),
    StationRef("694002", "Pavlodar", "KZ", "55110"),
    StationRef("680001", "Astana-1", "KZ", "62500"),
    StationRef("673206", "Karaganda-Sortirovochnaya", "KZ", "35350"),
    StationRef("708605", "Ust-Kamenogorsk", "KZ", "63501"),
    StationRef("698807", "Shymkent", "KZ", "51110"),
)
CN_STATIONS: tuple[StationRef, ...] = (
    StationRef("14672", "Chongqing Tuanjiecun", "CN", "8001"),
    StationRef("39264", "Xi'an Xinzhu", "CN", "9001"),
    StationRef("28651", "Chengdu Chengxiang", "CN", "7901"),
    StationRef("16733", "Yiwu West", "CN", "2933"),
    StationRef("16206", "Zhengzhou Putian", "CN", "4601"),
    StationRef("38861", "Urumqi Sanping", "CN", "9400"),
)
# Border stations by crossing point and side.
BORDER_STATIONS: dict[tuple[str, str], StationRef] = {
    ("DOSTYK-ALASHANKOU", "KZ"): StationRef("701800", "Dostyk", "KZ", "55180"),
    ("ALTYNKOL-KHORGOS", "KZ"): StationRef("702508", "Altynkol", "KZ", "55190"),
    ("DOSTYK-ALASHANKOU", "CN"): StationRef("39817", "Alashankou", "CN", "9401"),
    ("ALTYNKOL-KHORGOS", "CN"): StationRef("39902", "Khorgos", "CN", "9402"),
}
# Share of trains through each crossing point.
CROSSINGS: tuple[tuple[str, float], ...] = (("DOSTYK-ALASHANKOU", 0.6), ("ALTYNKOL-KHORGOS", 0.4))

# Exporters, with the administrative division code used in a Chinese USCC.
KZ_COMPANIES: tuple[str, ...] = (
    "Dala Agro Export LLP",
    "Saryarka Metals LLP",
    "Yertis Oil Processing LLP",
    "Kostanay Flax Trading LLP",
    "Temir Alloys JSC",
    "Zhetysu Grain Terminal LLP",
    "Altyn Dan Trading LLP",
    "Balkhash Copper Sales LLP",
)
CN_COMPANIES: tuple[tuple[str, str], ...] = (
    ("Chongqing Jiaxin Electronics Co., Ltd.", "500112"),
    ("Xi'an Qinling Photovoltaic Co., Ltd.", "610113"),
    ("Chengdu Tianfu Auto Parts Co., Ltd.", "510116"),
    ("Yiwu Haoyun Trading Co., Ltd.", "330782"),
    ("Suzhou Ruixiang Machinery Co., Ltd.", "320506"),
    ("Ningbo Haixin Apparel Co., Ltd.", "330212"),
    ("Quanzhou Jinbu Footwear Co., Ltd.", "350582"),
    ("Qingdao Bingquan Home Appliances Co., Ltd.", "370214"),
    ("Zhengzhou Zhongyuan Motors Export Co., Ltd.", "410122"),
)
# Consignees by destination country; CN ones carry their division code.
CONSIGNEES: dict[str, tuple[str, ...]] = {
    "CN": (
        "Xinjiang Tianshan Grain and Oil Import Co., Ltd.",
        "Urumqi Silk Road Import and Export Co., Ltd.",
        "Lianyungang Eurasia Metals Co., Ltd.",
        "Xi'an Changan Feed Co., Ltd.",
    ),
    "KZ": (
        "Almaty Auto Trade LLP",
        "Astana Home Appliances LLP",
        "Shymkent Shoes Distribution LLP",
        "Karaganda Trade House LLP",
    ),
    "UZ": ("Tashkent Savdo Import LLC", "Samarkand Avto Market LLC"),
    "KG": ("Bishkek Trade Center LLC",),
    "PL": (
        "Lodz Euro-Terminal Sp. z o.o.",
        "Malaszewicze Cargo Sp. z o.o.",
        "Warszawa Elektronika Import Sp. z o.o.",
    ),
    "DE": (
        "Rhein-Ruhr Eurasia Handel GmbH",
        "Hamburg Seidenstrasse Logistik GmbH",
        "Leipzig Solartechnik Vertrieb GmbH",
    ),
    "NL": ("Tilburg Rail Distribution B.V.",),
    "VN": ("Haiphong Grain Import JSC",),
    "KR": ("Busan Feed Co., Ltd.",),
    "JP": ("Osaka Metals Trading K.K.",),
}
CN_CONSIGNEE_DIVISION = "650100"  # Urumqi

# Carriers: (name, country, fixed national id or None to derive one).
KZ_CARRIER = ("KTZ Express JSC", "KZ", "020940003199")
CN_CARRIERS: tuple[tuple[str, str], ...] = (
    ("China Railway Container Transport Corp., Ltd.", "110102"),
    ("China Railway Express Co., Ltd.", "110106"),
)

# Fixed exchange rates for invoices in other currencies (per USD).
USD_RATES: dict[str, float] = {"USD": 1.0, "CNY": 7.12, "EUR": 0.92}

# Who sends and receives what Art.2 excludes.
POSTAL_OPERATORS: dict[str, tuple[str, str]] = {
    "KZ": ("Kazpost JSC", "KZ"),
    "CN": ("China Post Group Co., Ltd.", "CN"),
    "PL": ("Poczta Polska S.A.", "PL"),
    "DE": ("Deutsche Post AG", "DE"),
    "NL": ("PostNL N.V.", "NL"),
    "UZ": ("Uzbekiston Pochtasi JSC", "UZ"),
    "KG": ("Kyrgyz Pochtasy SE", "KG"),
}
INDIVIDUALS: dict[str, tuple[str, ...]] = {
    "KZ": ("Aigerim Seitkali", "Nurlan Abenov", "Dana Zhaksylykova"),
    "CN": ("Wang Lei", "Li Na", "Zhang Wei"),
}
