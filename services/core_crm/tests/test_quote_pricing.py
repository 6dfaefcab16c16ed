"""Quotes priced by the quote engine: the request is queued in the outbox, the engine's answer
(`quote.calculated`) becomes the quote to the cent, converting keeps the pinned tariff version."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import EventData
from aintech_contracts.events.quotes import PricedOffer, QuoteCalculated, QuotePricingFailed
from core_crm.consumers import consumer_specs

from .conftest import Api

RISK = {
    "postal_code": "28013",
    "driver_age": 20,
    "years_licensed": 1,
    "vehicle_power_hp": 110,
    "vehicle_age": 3,
    "km_per_year": 12000,
}


def _offer(carrier: str, cover: str, total: str, rank: int, version: int = 1) -> PricedOffer:
    return PricedOffer(
        product_code=f"{carrier.lower()}-auto",
        carrier=carrier,
        cover_level=cover,
        cover_name=cover.replace("_", " ").capitalize(),
        deductible=Decimal("300") if cover == "todo_riesgo_franquicia" else Decimal("0"),
        rank=rank,
        tariff_version_id=uuid.uuid4(),
        tariff_version=version,
        net_premium=Decimal(total) - Decimal("10.00"),
        total=Decimal(total),
        eligible=True,
    )


def _answer(request: dict[str, Any]) -> QuoteCalculated:
    """What the engine publishes for the request (figures as the engine priced them)."""
    return QuoteCalculated(
        calculation_id=uuid.uuid4(),
        kind="comparison",
        line="auto",
        priced_on=date(2026, 3, 1),
        customer_id=uuid.UUID(request["customer_id"]),
        risk={**request["risk"], "line": "auto"},
        requested_by=uuid.UUID(request["requested_by"]),
        offers=[
            _offer("Mapfre", "terceros_ampliado", "1133.34", 1),
            _offer("AXA", "terceros_ampliado", "1190.07", 2, version=3),
            _offer("Mapfre", "terceros_basico", "901.12", 3),
            _offer("Zurich", "todo_riesgo_franquicia", "1702.45", 4),
            PricedOffer(
                product_code="generali-auto",
                carrier="Generali",
                cover_level="todo_riesgo",
                tariff_version_id=uuid.uuid4(),
                tariff_version=1,
                eligible=False,
            ),
        ],
        recommended_product_code="mapfre-auto",
        recommended_cover_level="terceros_ampliado",
        crm_request_id=uuid.UUID(request["request_id"]),
        created_at=datetime.now(UTC),
    )


async def _deliver(api: Api, app: FastAPI, payload: EventData) -> None:
    spec = next(s for s in consumer_specs(app.state.runtime) if s.name == "core-crm.pricing")
    event = CloudEvent.wrap(payload, type_=payload.event_type, source="quote-engine", subject=None)
    async with AsyncSession(bind=api.conn, join_transaction_mode="create_savepoint") as session:
        await spec.handlers[payload.event_type](session, event)
        await session.commit()


async def _request(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    customer = await api.customer()
    body = {
        "customer_id": customer["id"],
        "quote_type": "auto",
        "risk": RISK,
        "cover_levels": ["terceros_ampliado"],
    }
    accepted = (await api.call("POST", "/quotes/pricing-requests", json=body, expect=202)).json()
    (requested,) = await api.events("quote.pricing_requested", key=customer["id"])
    assert requested["data"]["request_id"] == accepted["request_id"]
    assert requested["data"]["risk"] == RISK and requested["data"]["requested_by"] == api.agent_id
    return customer, requested["data"]


async def _quote_of(api: Api, customer_id: str) -> list[dict[str, Any]]:
    return list((await api.call("GET", f"/quotes?customer_id={customer_id}", expect=200)).json()["items"])


async def test_the_engines_answer_becomes_the_quote_to_the_cent(api: Api, app: FastAPI) -> None:
    customer, request = await _request(api)
    assert await _quote_of(api, customer["id"]) == []  # nothing is priced by hand meanwhile
    answer = _answer(request)
    await _deliver(api, app, answer)
    await _deliver(api, app, answer)  # redelivered: still one quote
    (quote,) = await _quote_of(api, customer["id"])
    assert quote["total_premium"] == quote["base_premium"] == "1133.34"
    assert quote["selected_carrier"] == "Mapfre"
    assert [(c["carrier"], c["premium"]) for c in quote["carrier_quotes"]] == [
        ("Mapfre", "1133.34"),
        ("AXA", "1190.07"),
        ("Zurich", "1702.45"),
    ]
    assert quote["metadata"]["pricing"]["calculation_id"] == str(answer.calculation_id)
    assert quote["coverage_details"] == {"risk": RISK}
    (created,) = await api.events("quote.created", key=quote["id"])
    assert created["data"]["total_premium"] == "1133.34"
    assert [c["premium"] for c in created["data"]["carriers"]] == ["1133.34", "1190.07", "1702.45"]


async def test_converting_keeps_the_pinned_tariff_version(api: Api, app: FastAPI) -> None:
    customer, request = await _request(api)
    answer = _answer(request)
    await _deliver(api, app, answer)
    (quote,) = await _quote_of(api, customer["id"])
    details = {"make": "SEAT", "model": "Ibiza", "year": 2023, "plate": "1234BCD"}
    body = {"carrier": "AXA", "premium_frequency": "annual", "details": details}
    converted = (await api.call("POST", f"/quotes/{quote['id']}/convert", json=body, expect=200)).json()
    policy = (await api.call("GET", f"/policies/{converted['policy_id']}", expect=200)).json()
    axa = answer.offers[1]
    assert (
        policy["carrier"] == "AXA" and policy["premium_amount"] == "1190.07"
    )  # AXA's offer, not the selected
    assert policy["metadata"]["pricing"]["tariff_version_id"] == str(axa.tariff_version_id)
    assert policy["metadata"]["pricing"]["tariff_version"] == 3


async def test_a_risk_the_engine_cannot_price_gives_the_agent_a_task(api: Api, app: FastAPI) -> None:
    customer, request = await _request(api)
    refusal = QuotePricingFailed(
        crm_request_id=uuid.UUID(request["request_id"]),
        customer_id=uuid.UUID(customer["id"]),
        requested_by=uuid.UUID(api.agent_id),
        reason="risk.auto.driver_age: Input should be greater than or equal to 16",
    )
    await _deliver(api, app, refusal)
    await _deliver(api, app, refusal)
    rows = (
        await api.conn.execute(
            text("SELECT assigned_to, description FROM crm.tasks WHERE customer_id = :c"),
            {"c": customer["id"]},
        )
    ).all()
    assert [(str(r[0]), r[1]) for r in rows if "could not price" in (r[1] or "")] == [
        (api.agent_id, f"The quote engine could not price the risk: {refusal.reason}")
    ]
    assert await _quote_of(api, customer["id"]) == []
