"""Illustrative tariffs for the demo and the golden tests.

NOT real carrier tariffs: the carriers' names (Mapfre, AXA, Allianz, Generali, Zurich, Mutua
Madrileña) are used so the broker's screens look familiar, but every rate, band and discount below
was made up with round numbers so premiums can be checked by hand (docs/quote-engine.md works
three of them through). Mapfre's tariffs are the reference; the others scale its base rates and
shift a few rules so that comparisons differ in price, cover and deductible.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

EFFECTIVE_FROM = "2026-01-01"
D = Decimal

AUTO_ZONES = {
    "28": "urban_high",
    "08": "urban_high",
    "46": "urban",
    "41": "urban",
    "42": "rural",
    "44": "rural",
}
HOME_ZONES = {
    "46": "mediterranean",
    "03": "mediterranean",
    "12": "mediterranean",
    "28": "urban",
    "08": "urban",
}

AUTO_COVERS: list[dict[str, Any]] = [
    {
        "code": "terceros_basico",
        "name": "Terceros básico",
        "rank": 1,
        "covers": ["rc_obligatoria", "rc_voluntaria", "defensa_juridica"],
        "limits": {"rc_voluntaria": "50000000"},
        "deductible": "0",
        "rates": {"urban_high": "320", "urban": "280", "standard": "250", "rural": "210"},
        "rc_share": "0.60",
    },
    {
        "code": "terceros_ampliado",
        "name": "Terceros ampliado",
        "rank": 2,
        "covers": [
            "rc_obligatoria",
            "rc_voluntaria",
            "defensa_juridica",
            "lunas",
            "robo",
            "incendio",
            "asistencia",
        ],
        "limits": {"rc_voluntaria": "50000000", "lunas": "1000"},
        "deductible": "0",
        "rates": {"urban_high": "420", "urban": "370", "standard": "330", "rural": "280"},
        "rc_share": "0.45",
    },
    {
        "code": "todo_riesgo_franquicia",
        "name": "Todo riesgo con franquicia",
        "rank": 3,
        "covers": [
            "rc_obligatoria",
            "rc_voluntaria",
            "defensa_juridica",
            "lunas",
            "robo",
            "incendio",
            "asistencia",
            "danos_propios",
        ],
        "limits": {"rc_voluntaria": "50000000", "lunas": "1500"},
        "deductible": "300",
        "rates": {"urban_high": "640", "urban": "560", "standard": "500", "rural": "430"},
        "rc_share": "0.30",
        "max_vehicle_age": 10,
    },
    {
        "code": "todo_riesgo",
        "name": "Todo riesgo",
        "rank": 4,
        "covers": [
            "rc_obligatoria",
            "rc_voluntaria",
            "defensa_juridica",
            "lunas",
            "robo",
            "incendio",
            "asistencia",
            "danos_propios",
            "vehiculo_sustitucion",
        ],
        "limits": {"rc_voluntaria": "50000000", "lunas": "2000"},
        "deductible": "0",
        "rates": {"urban_high": "820", "urban": "720", "standard": "650", "rural": "560"},
        "rc_share": "0.25",
        "max_vehicle_age": 5,
    },
]

HOME_COVERS: list[dict[str, Any]] = [
    {
        "code": "basico",
        "name": "Hogar básico (continente)",
        "rank": 1,
        "covers": ["continente", "rc_familiar", "danos_agua", "incendio"],
        "limits": {"rc_familiar": "150000"},
        "deductible": "300",
        "rates": {"mediterranean": "0.90", "urban": "0.85", "standard": "0.75"},
    },
    {
        "code": "completo",
        "name": "Hogar completo (continente y contenido)",
        "rank": 2,
        "covers": [
            "continente",
            "contenido",
            "rc_familiar",
            "danos_agua",
            "incendio",
            "robo",
            "asistencia_hogar",
        ],
        "limits": {"rc_familiar": "300000", "robo": "6000"},
        "deductible": "150",
        "rates": {"mediterranean": "1.30", "urban": "1.20", "standard": "1.05"},
    },
    {
        "code": "todo_riesgo",
        "name": "Hogar todo riesgo",
        "rank": 3,
        "covers": [
            "continente",
            "contenido",
            "rc_familiar",
            "danos_agua",
            "incendio",
            "robo",
            "asistencia_hogar",
            "danos_accidentales",
            "joyas",
        ],
        "limits": {"rc_familiar": "600000", "robo": "12000", "joyas": "3000"},
        "deductible": "0",
        "rates": {"mediterranean": "1.70", "urban": "1.60", "standard": "1.40"},
    },
]


@dataclass(frozen=True)
class Carrier:
    name: str
    slug: str
    auto_scale: Decimal
    home_scale: Decimal
    young_surcharge: Decimal
    no_claims_discount: Decimal
    deductible_scale: Decimal
    commission_band: tuple[str, str]


CARRIERS = [
    Carrier("Mapfre", "mapfre", D("1.00"), D("1.00"), D("10"), D("10"), D("1.0"), ("0", "8")),
    Carrier("AXA", "axa", D("1.06"), D("0.96"), D("12"), D("12"), D("0.5"), ("0", "6")),
    Carrier("Allianz", "allianz", D("1.03"), D("1.04"), D("8"), D("10"), D("1.0"), ("0", "7")),
    Carrier("Generali", "generali", D("0.97"), D("1.02"), D("15"), D("8"), D("2.0"), ("0", "5")),
    Carrier("Zurich", "zurich", D("1.10"), D("0.98"), D("9"), D("15"), D("0.5"), ("0", "6")),
    Carrier("Mutua Madrileña", "mutua", D("0.95"), D("1.08"), D("20"), D("12"), D("1.5"), ("0", "10")),
]


def _scaled(rates: dict[str, str], scale: Decimal) -> dict[str, str]:
    return {zone: str((D(v) * scale).quantize(D("0.0001"))) for zone, v in rates.items()}


def _band(lower: str, upper: str | None, value: str) -> dict[str, Any]:
    return {"from": lower, "to": upper, "value": value}


def auto_tariff(carrier: Carrier) -> dict[str, Any]:
    covers = []
    for cover in AUTO_COVERS:
        eligibility = []
        if "max_vehicle_age" in cover:
            eligibility.append(
                {
                    "field": "vehicle_age",
                    "op": "le",
                    "value": str(cover["max_vehicle_age"]),
                    "reason": f"{cover['name']} is offered for vehicles up to "
                    f"{cover['max_vehicle_age']} years old",
                }
            )
        covers.append(
            {
                "code": cover["code"],
                "name": cover["name"],
                "rank": cover["rank"],
                "covers": cover["covers"],
                "limits": cover["limits"],
                "deductible": str(D(cover["deductible"]) * carrier.deductible_scale),
                "base_rates": _scaled(cover["rates"], carrier.auto_scale),
                "compulsory_rc_share": cover["rc_share"],
                "eligibility": eligibility,
            }
        )
    return {
        "product_code": f"{carrier.slug}-auto",
        "carrier": carrier.name,
        "product_name": f"{carrier.name} Auto",
        "line": "auto",
        "effective_from": EFFECTIVE_FROM,
        "zones": AUTO_ZONES,
        "default_zone": "standard",
        "cover_levels": covers,
        "factors": [
            {
                "name": "driver_age",
                "input": "driver_age",
                "bands": [
                    _band("18", "21", "1.80"),
                    _band("21", "25", "1.45"),
                    _band("25", "30", "1.15"),
                    _band("30", "65", "1.00"),
                    _band("65", "75", "1.10"),
                    _band("75", None, "1.30"),
                ],
            },
            {
                "name": "years_licensed",
                "input": "years_licensed",
                "bands": [_band("0", "2", "1.25"), _band("2", "5", "1.10"), _band("5", None, "1.00")],
            },
            {
                "name": "claims_last_5_years",
                "input": "claims_5y",
                "bands": [
                    _band("0", "1", "1.00"),
                    _band("1", "2", "1.20"),
                    _band("2", "3", "1.45"),
                    _band("3", None, "1.90"),
                ],
            },
            {
                "name": "vehicle_power",
                "input": "vehicle_power_hp",
                "bands": [
                    _band("0", "90", "0.95"),
                    _band("90", "130", "1.00"),
                    _band("130", "200", "1.15"),
                    _band("200", None, "1.35"),
                ],
            },
            {
                "name": "km_per_year",
                "input": "km_per_year",
                "bands": [
                    _band("0", "10000", "0.92"),
                    _band("10000", "20000", "1.00"),
                    _band("20000", None, "1.10"),
                ],
            },
            {
                "name": "garage",
                "input": "garage",
                "categories": [{"match": True, "value": "0.95"}, {"match": False, "value": "1.00"}],
            },
            {
                "name": "vehicle_use",
                "input": "use",
                "mode": "additive",
                "categories": [{"match": "private", "value": "0"}, {"match": "commercial", "value": "60"}],
            },
        ],
        "adjustments": [
            {
                "code": "no_claims",
                "kind": "discount",
                "percent": str(carrier.no_claims_discount),
                "when": [{"field": "no_claims_years", "op": "ge", "value": "5"}],
                "description": "Five or more years without claims",
            },
            {
                "code": "multi_policy",
                "kind": "discount",
                "percent": "5",
                "when": [{"field": "policies_held", "op": "ge", "value": "2"}],
                "description": "Customer holds another policy with the broker",
            },
            {
                "code": "young_driver",
                "kind": "surcharge",
                "percent": str(carrier.young_surcharge),
                "when": [{"field": "driver_age", "op": "lt", "value": "25"}],
                "description": "Driver under 25",
            },
            {
                "code": "monthly_payment",
                "kind": "surcharge",
                "percent": "3",
                "when": [{"field": "payment_frequency", "op": "eq", "value": "monthly"}],
                "description": "Paid monthly",
            },
        ],
        "eligibility": [
            {"field": "driver_age", "op": "ge", "value": "18", "reason": "The driver must be at least 18"},
            {
                "field": "vehicle_age",
                "op": "le",
                "value": "30",
                "reason": "Vehicles older than 30 years are not insured",
            },
        ],
        "minimum_premium": "180",
        "maximum_premium": "6000",
        "commission_band": list(carrier.commission_band),
        "illustrative": True,
        "notes": "Illustrative tariff for demonstration; not the carrier's real tariff.",
    }


def home_tariff(carrier: Carrier) -> dict[str, Any]:
    return {
        "product_code": f"{carrier.slug}-hogar",
        "carrier": carrier.name,
        "product_name": f"{carrier.name} Hogar",
        "line": "home",
        "effective_from": EFFECTIVE_FROM,
        "base_mode": "per_mille",
        "base_field": "insured_capital",
        "zones": HOME_ZONES,
        "default_zone": "standard",
        "cover_levels": [
            {
                "code": cover["code"],
                "name": cover["name"],
                "rank": cover["rank"],
                "covers": cover["covers"],
                "limits": cover["limits"],
                "deductible": str(D(cover["deductible"]) * carrier.deductible_scale),
                "base_rates": _scaled(cover["rates"], carrier.home_scale),
                "eligibility": [],
            }
            for cover in HOME_COVERS
        ],
        "factors": [
            {
                "name": "construction_year",
                "input": "construction_year",
                "bands": [
                    _band("1800", "1960", "1.25"),
                    _band("1960", "1990", "1.10"),
                    _band("1990", "2010", "1.00"),
                    _band("2010", "2101", "0.92"),
                ],
            },
            {
                "name": "home_type",
                "input": "home_type",
                "categories": [
                    {"match": "apartment", "value": "1.00"},
                    {"match": "house", "value": "1.20"},
                    {"match": "chalet", "value": "1.35"},
                ],
            },
            {
                "name": "alarm",
                "input": "alarm",
                "categories": [{"match": True, "value": "0.93"}, {"match": False, "value": "1.00"}],
            },
        ],
        "adjustments": [
            {
                "code": "multi_policy",
                "kind": "discount",
                "percent": "5",
                "when": [{"field": "policies_held", "op": "ge", "value": "2"}],
                "description": "Customer holds another policy with the broker",
            },
            {
                "code": "claims_history",
                "kind": "surcharge",
                "percent": "15",
                "when": [{"field": "claims_5y", "op": "ge", "value": "2"}],
                "description": "Two or more claims in the last five years",
            },
            {
                "code": "monthly_payment",
                "kind": "surcharge",
                "percent": "3",
                "when": [{"field": "payment_frequency", "op": "eq", "value": "monthly"}],
                "description": "Paid monthly",
            },
        ],
        "eligibility": [
            {
                "field": "building_capital",
                "op": "ge",
                "value": "30000",
                "reason": "The building must be insured for at least 30,000 €",
            }
        ],
        "minimum_premium": "120",
        "maximum_premium": "5000",
        "commission_band": list(carrier.commission_band),
        "illustrative": True,
        "notes": "Illustrative tariff for demonstration; not the carrier's real tariff.",
    }


def all_tariffs() -> list[dict[str, Any]]:
    """Twelve illustrative tariffs: auto and home for each of the six carriers."""
    return [t for c in CARRIERS for t in (auto_tariff(c), home_tariff(c))]
