"""The ``quote.calculated`` event of a comparison is written from the rating's figures (no model per
offer, serialised once into its envelope): it must be exactly the payload ``QuoteCalculated``
writes — every member, money and ids as their strings, the instant as pydantic writes it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from aintech_contracts.events.quotes import QuoteCalculated

from .conftest import AUTO_RISK, Api

# A 20-year-old driver licensed a year ago in Madrid: some cover levels refuse him (ineligible offers).
YOUNG = {
    "line": "auto",
    "postal_code": "28013",
    "driver_age": 20,
    "years_licensed": 1,
    "vehicle_type": "car",
    "vehicle_value": "18000",
    "vehicle_power_hp": 110,
    "vehicle_age": 8,
    "km_per_year": 12000,
    "garage": False,
    "use": "private",
}


@pytest.mark.parametrize("risk", [AUTO_RISK, YOUNG], ids=["experienced", "young"])
async def test_the_event_written_from_the_figures_is_the_payload_the_contract_writes(
    api: Api, risk: dict[str, Any]
) -> None:
    answer = (
        await api.call("POST", "/compare", json={"risk": risk, "effective_date": "2026-03-01"}, expect=201)
    ).json()
    payload = await api.conn.scalar(
        text("SELECT payload FROM quotes.outbox WHERE event_type = 'quote.calculated' AND key = :k"),
        {"k": answer["id"]},
    )
    assert payload["type"] == "quote.calculated" and payload["partitionkey"] == answer["id"]
    data = payload["data"]
    # Validated by the contract and written again by it: the same document, member for member.
    assert QuoteCalculated.model_validate(data).model_dump(mode="json") == data
    assert set(data) == set(QuoteCalculated.model_fields)
    assert data["calculation_id"] == answer["id"] and data["risk"] == answer["request"]["risk"]
    assert data["created_at"] == answer["created_at"]
    offers = {(o["product_code"], o["cover_level"]): o for o in data["offers"]}
    for offer in answer["offers"]:
        sent = offers[(offer["product_code"], offer["cover"]["code"])]
        assert (sent["rank"], sent["total"], sent["net_premium"], sent["deductible"]) == (
            offer["rank"],
            offer["total"],
            offer["net_premium"],
            offer["cover"]["deductible"],
        )
        assert sent["tariff_version_id"] == offer["tariff"]["tariff_version_id"] and sent["eligible"]
    for offer in answer["ineligible"]:
        sent = offers[(offer["product_code"], offer["cover"]["code"])]
        assert sent["eligible"] is False and sent["rank"] is None and sent["total"] is None
    if risk is YOUNG:
        assert answer["ineligible"], "the young driver's comparison has no ineligible offer to check"
