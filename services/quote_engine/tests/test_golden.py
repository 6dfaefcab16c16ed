"""Golden premiums, computed by hand from the illustrative tariffs (docs/quote-engine.md shows the
working), priced through the API with the receipt-tax rows the migration installs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .conftest import Api

D = Decimal
ON = "2026-03-01"


def _sum_lines(offer: dict[str, Any]) -> Decimal:
    return sum((D(line["amount"]) for line in offer["lines"]), D(0))


def _taxes(offer: dict[str, Any]) -> dict[str, str]:
    return {t["code"]: t["amount"] for t in offer["taxes"]}


async def test_young_driver_in_madrid(api: Api) -> None:
    # Mapfre terceros ampliado, Madrid (zone urban_high): base 420.00
    # × 1.80 (age 20, band [18, 21)) = 756.00; × 1.25 (licensed 1 year, [0, 2)) = 945.00
    # claims, power 110 hp, 12,000 km, no garage, private use: × 1.00 / + 0
    # young driver surcharge 10 % = +94.50 -> net 1039.50
    # IPS 8 % = 83.16; Consorcio car 2.10; Fondo de Garantía 1.5 % of 45 % (467.78) = 7.02;
    # CLEA 0.15 % = 1.56 -> total 1133.34
    body = {
        "product_code": "mapfre-auto",
        "cover_level": "terceros_ampliado",
        "effective_date": ON,
        "risk": {
            "line": "auto",
            "postal_code": "28013",
            "driver_age": 20,
            "years_licensed": 1,
            "vehicle_type": "car",
            "vehicle_power_hp": 110,
            "vehicle_age": 3,
            "km_per_year": 12000,
            "garage": False,
            "use": "private",
        },
    }
    offer = (await api.call("POST", "/calculate", json=body, expect=201)).json()["offer"]
    assert offer["eligible"] is True
    assert offer["zone"] == "urban_high"
    assert offer["net_premium"] == "1039.50"
    assert offer["compulsory_rc_premium"] == "467.78"
    assert _taxes(offer) == {
        "clea": "1.56",
        "consorcio_fondo_garantia": "7.02",
        "consorcio_riesgos_extraordinarios_auto": "2.10",
        "ips": "83.16",
    }
    assert offer["total"] == "1133.34"
    assert _sum_lines(offer) == D("1133.34")
    steps = [(line["table"], line["row"], line["amount"], line["running_total"]) for line in offer["lines"]]
    assert steps[:3] == [
        ("base_rates", "terceros_ampliado/urban_high", "420.00", "420.00"),
        ("driver_age", "[18, 21)", "336.00", "756.00"),
        ("years_licensed", "[0, 2)", "189.00", "945.00"),
    ]
    assert ("adjustments", "young_driver", "94.50", "1039.50") in steps


async def test_experienced_driver_in_soria(api: Api) -> None:
    # Mapfre todo riesgo con franquicia, Soria (zone rural): base 430.00
    # age 48, licensed 25 years, no claims, 100 hp: × 1.00; 8,000 km × 0.92 = 395.60;
    # garage × 0.95 = 375.82; no-claims discount 10 % = −37.58 -> 338.24;
    # multi-policy 5 % = −16.91 -> net 321.33
    # IPS 25.71; Consorcio 2.10; Fondo de Garantía 1.5 % of 30 % (96.40) = 1.45; CLEA 0.48 -> 351.07
    body = {
        "product_code": "mapfre-auto",
        "cover_level": "todo_riesgo_franquicia",
        "effective_date": ON,
        "risk": {
            "line": "auto",
            "postal_code": "42001",
            "driver_age": 48,
            "years_licensed": 25,
            "no_claims_years": 12,
            "policies_held": 2,
            "vehicle_power_hp": 100,
            "vehicle_age": 6,
            "km_per_year": 8000,
            "garage": True,
        },
    }
    offer = (await api.call("POST", "/calculate", json=body, expect=201)).json()["offer"]
    assert offer["zone"] == "rural"
    assert offer["net_premium"] == "321.33"
    assert _taxes(offer) == {
        "clea": "0.48",
        "consorcio_fondo_garantia": "1.45",
        "consorcio_riesgos_extraordinarios_auto": "2.10",
        "ips": "25.71",
    }
    assert offer["total"] == "351.07"
    assert _sum_lines(offer) == D("351.07")
    assert offer["cover"]["deductible"] == "300.0"


async def test_home_in_valencia(api: Api) -> None:
    # Mapfre hogar completo, Valencia (zone mediterranean): 1.30 ‰ of 210,000 € (building 180,000
    # + contents 30,000) = 273.00; built 1998, apartment, no alarm: × 1.00 -> net 273.00
    # IPS 8 % = 21.84; Consorcio 0.07 ‰ of 210,000 = 14.70; CLEA 0.15 % = 0.41 -> 309.95
    body = {
        "product_code": "mapfre-hogar",
        "cover_level": "completo",
        "effective_date": ON,
        "risk": {
            "line": "home",
            "postal_code": "46001",
            "building_capital": "180000",
            "contents_capital": "30000",
            "construction_year": 1998,
            "home_type": "apartment",
            "alarm": False,
        },
    }
    offer = (await api.call("POST", "/calculate", json=body, expect=201)).json()["offer"]
    assert offer["net_premium"] == "273.00"
    assert _taxes(offer) == {
        "clea": "0.41",
        "consorcio_riesgos_extraordinarios_hogar": "14.70",
        "ips": "21.84",
    }
    assert offer["total"] == "309.95"
    assert _sum_lines(offer) == D("309.95")
