"""The scraper's observed carrier prices, consumed as the worker's consumer applies them, shown in a
comparison beside the carrier's tariff price with their age."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events.scraper import CarrierPriceObserved, ObservedRisk
from quote_engine.consumers import consumer_specs

from .conftest import AUTO_RISK, Api


def observed(
    premium: str,
    *,
    quote_id: uuid.UUID | None = None,
    carrier: str = "mapfre",
    name: str = "Mapfre",
    postal_code: str = "46010",
    birth: date = date(1990, 1, 1),
    at: datetime | None = None,
) -> CarrierPriceObserved:
    return CarrierPriceObserved(
        job_id=uuid.uuid4(),
        carrier=carrier,
        carrier_name=name,
        product="Terceros Ampliado",
        premium=Decimal(premium),
        risk=ObservedRisk(
            product_type="auto", plate="1234BCD", postal_code=postal_code, driver_birth_date=birth
        ),
        quote_id=quote_id,
        adapter_version="2026.12.1",
        observed_at=at or datetime.now(UTC) - timedelta(hours=2),
    )


async def consume(app: FastAPI, api: Api, *events: CarrierPriceObserved, twice: bool = False) -> None:
    spec = next(s for s in consumer_specs(app.state.runtime) if s.name == "quote-engine.scraper")
    handler = spec.handlers["carrier.price_observed"]
    async with AsyncSession(bind=api.conn, join_transaction_mode="create_savepoint") as session:
        for data in events:
            event = CloudEvent.wrap(data, type_=data.event_type, source="scraper", subject=None)
            await handler(session, event)
            if twice:
                await handler(session, event)
        await session.commit()


async def compare(api: Api) -> dict[str, Any]:
    body = {"risk": AUTO_RISK, "cover_levels": ["terceros_ampliado"]}
    return dict((await api.call("POST", "/compare", json=body, expect=201)).json())


async def test_a_price_observed_for_a_comparison_shows_beside_the_tariff_price_with_its_age(
    app: FastAPI, api: Api
) -> None:
    comparison = await compare(api)
    assert comparison["observed"] == []
    await consume(app, api, observed("401.20", quote_id=uuid.UUID(comparison["id"])), twice=True)
    stored = (await api.call("GET", f"/{comparison['id']}", expect=200)).json()
    [seen] = stored["observed"]
    mapfre_tariff = min(Decimal(o["total"]) for o in comparison["offers"] if o["carrier"] == "Mapfre")
    assert seen["carrier"] == "Mapfre" and seen["match"] == "quote"
    assert Decimal(seen["observed_premium"]) == Decimal("401.20")
    assert Decimal(seen["tariff_total"]) == mapfre_tariff
    assert Decimal(seen["difference"]) == Decimal("401.20") - mapfre_tariff
    assert 1.9 < seen["age_hours"] < 2.1


async def test_a_price_observed_for_the_same_risk_shows_in_a_new_comparison(app: FastAPI, api: Api) -> None:
    recent = datetime.now(UTC) - timedelta(hours=2)
    too_old = recent - timedelta(days=45)
    # 35 on both days it was observed, whatever the date the suite runs on (across a New Year too):
    # born 35 years before the older observation, so the next birthday is more than 45 days later.
    day = too_old.date()
    birth = date(day.year - AUTO_RISK["driver_age"], day.month, min(day.day, 28))
    await consume(
        app,
        api,
        observed("388.00", carrier="axa", name="AXA", birth=birth, at=recent),
        observed("999.00", postal_code="28001", birth=birth, at=recent),  # another postal code: not this risk
        observed("777.00", birth=birth - timedelta(days=3650), at=recent),  # another driver age
        observed("555.00", birth=birth, at=too_old),  # too old
    )
    comparison = await compare(api)
    assert [(o["carrier"], o["observed_premium"], o["match"]) for o in comparison["observed"]] == [
        ("AXA", "388.00", "risk")
    ]
