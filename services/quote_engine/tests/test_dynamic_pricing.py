"""Dynamic pricing: the broker's discount inside the carrier's commission band, re-rated to the cent."""

from __future__ import annotations

import jsonschema_rs

from quote_engine.pricing.schemas import DynamicPricingRequest

from .conftest import Api

HOME = {
    "product_code": "mapfre-hogar",
    "cover_level": "completo",
    "effective_date": "2026-03-01",
    "risk": {
        "line": "home",
        "postal_code": "46001",
        "building_capital": "180000",
        "contents_capital": "30000",
        "construction_year": 1998,
    },
}


async def test_without_signals_no_discount_is_recommended(api: Api) -> None:
    calc = (await api.call("POST", "/calculate", json=HOME, expect=201)).json()
    result = (
        await api.call("POST", "/pricing/dynamic", json={"calculation_id": calc["id"]}, expect=200)
    ).json()
    assert result["signals"] == "neutral"
    (offer,) = result["offers"]
    assert offer["recommended_discount_percent"] == "0.0"
    assert offer["total_after"] == offer["total_before"] == "309.95"
    assert "no churn signal yet" in offer["why"]


async def test_a_customer_likely_to_leave_gets_the_top_of_the_band(api: Api) -> None:
    # Mapfre's band is [0 %, 8 %]; churn 1 and value 1 -> 8 %: net 273.00 − 21.84 = 251.16;
    # IPS 20.09, Consorcio 14.70, CLEA 0.38 -> 286.33
    calc = (await api.call("POST", "/calculate", json=HOME, expect=201)).json()
    body = {"calculation_id": calc["id"], "churn_risk": "1", "customer_value": "1"}
    (offer,) = (await api.call("POST", "/pricing/dynamic", json=body, expect=200)).json()["offers"]
    assert offer["commission_band"] == ["0", "8"]
    assert offer["recommended_discount_percent"] == "8.0"
    assert (offer["total_before"], offer["total_after"], offer["saving"]) == ("309.95", "286.33", "23.62")
    # half the churn risk of an average customer: 0.5 × (0.5 + 0.25) = 0.375 -> 3.0 %
    body = {"calculation_id": calc["id"], "churn_risk": "0.5", "customer_value": "0.5"}
    (offer,) = (await api.call("POST", "/pricing/dynamic", json=body, expect=200)).json()["offers"]
    assert offer["recommended_discount_percent"] == "3.0"


async def test_every_eligible_offer_of_a_comparison_stays_inside_its_band(api: Api) -> None:
    compare = {"risk": HOME["risk"], "effective_date": "2026-03-01", "cover_levels": ["completo"]}
    comparison = (await api.call("POST", "/compare", json=compare, expect=201)).json()
    body = {"calculation_id": comparison["id"], "churn_risk": "0.8", "customer_value": "0.2"}
    offers = (await api.call("POST", "/pricing/dynamic", json=body, expect=200)).json()["offers"]
    assert len(offers) == 6
    for offer in offers:
        low, high = (float(x) for x in offer["commission_band"])
        assert low <= float(offer["recommended_discount_percent"]) <= high
        assert float(offer["total_after"]) <= float(offer["total_before"])


async def test_the_document_offers_exactly_the_scores_the_service_reads(api: Api) -> None:
    schema = DynamicPricingRequest.model_json_schema()["properties"]["churn_risk"]
    offered = jsonschema_rs.validator_for(schema)
    for refused in (0.142190235955056, 1.5, -0.1, "0.12345", "\x17\u00b2", "1.1", ""):
        assert not offered.is_valid(refused), refused
    calc = (await api.call("POST", "/calculate", json=HOME, expect=201)).json()
    for accepted in (0.25, 0, 1, "0.7", "0.1234", "1.0", None):
        assert offered.is_valid(accepted), accepted
        body = {"calculation_id": calc["id"], "churn_risk": accepted, "customer_value": accepted}
        await api.call("POST", "/pricing/dynamic", json=body, expect=200)
