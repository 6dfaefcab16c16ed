"""OptiMax: advice from the policies read model (fed by the CRM's policy events) and comparisons."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import EventData
from aintech_contracts.events.crm import PolicyCancelled, PolicyCreated
from quote_engine.consumers import consumer_specs

from .conftest import Api


async def _deliver(api: Api, app: FastAPI, payload: EventData) -> None:
    spec = next(s for s in consumer_specs(app.state.runtime) if s.name == "quote-engine.optimax")
    event = CloudEvent.wrap(payload, type_=payload.event_type, source="core-crm", subject=None)
    async with AsyncSession(bind=api.conn, join_transaction_mode="create_savepoint") as session:
        await spec.handlers[payload.event_type](session, event)
        await session.commit()


def _policy(customer_id: uuid.UUID, kind: str, premium: str, frequency: str, ends: date) -> PolicyCreated:
    return PolicyCreated(
        policy_id=uuid.uuid4(),
        policy_number=f"POL-{uuid.uuid4().hex[:6]}",
        policy_type=kind,
        carrier="Zurich",
        customer_id=customer_id,
        status="active",
        coverage_start_date=ends - timedelta(days=365),
        coverage_end_date=ends,
        premium_amount=Decimal(premium),
        premium_frequency=frequency,
    )


async def test_a_single_car_policy_gets_bundle_and_gap_advice(api: Api, app: FastAPI) -> None:
    customer = uuid.uuid4()
    car = _policy(customer, "auto", "50.00", "monthly", date.today() + timedelta(days=200))
    await _deliver(api, app, car)
    advice = (await api.call("GET", f"/optimize/recommendations/{customer}", expect=200)).json()
    assert advice["annual_premium"] == "600.00" and advice["live_policies"] == 1
    kinds = {a["kind"]: a for a in advice["recommendations"]}
    assert kinds["bundle"]["saving"] == "30.00"  # 5 % of 600.00
    assert kinds["coverage_gap"]["title"] == "No home insurance"
    assert advice["potential_saving"] == "30.00"
    await _deliver(
        api,
        app,
        PolicyCancelled(
            policy_id=car.policy_id,
            policy_number=car.policy_number,
            policy_type="auto",
            carrier="Zurich",
            customer_id=customer,
            cancelled_at=datetime.now(UTC),
            reason="sold the car",
        ),
    )
    advice = (await api.call("GET", f"/optimize/recommendations/{customer}", expect=200)).json()
    assert advice["live_policies"] == 0 and advice["recommendations"] == []


async def test_a_home_renewing_soon_is_offered_cheaper_equivalent_cover(api: Api, app: FastAPI) -> None:
    customer = uuid.uuid4()
    home = _policy(customer, "home", "600.00", "annual", date.today() + timedelta(days=30))
    await _deliver(api, app, home)
    await _deliver(
        api, app, _policy(customer, "auto", "400.00", "annual", date.today() + timedelta(days=300))
    )
    risk: dict[str, Any] = {
        "line": "home",
        "postal_code": "46001",
        "building_capital": "180000",
        "contents_capital": "30000",
        "construction_year": 1998,
    }
    comparison = (
        await api.call("POST", "/compare", json={"risk": risk, "customer_id": str(customer)}, expect=201)
    ).json()
    advice = (
        await api.call("POST", "/optimize/portfolio", json={"customer_ids": [str(customer)]}, expect=200)
    ).json()
    (mine,) = advice["customers"]
    cheaper = [a for a in mine["recommendations"] if a["kind"] == "cheaper_at_renewal"]
    assert len(cheaper) == 1
    broadest = max(o["cover"]["rank"] for o in comparison["offers"] if Decimal(o["total"]) < 600)
    best = min(
        (o for o in comparison["offers"] if o["cover"]["rank"] == broadest and Decimal(o["total"]) < 600),
        key=lambda o: Decimal(o["total"]),
    )
    assert cheaper[0]["saving"] == str(Decimal("600.00") - Decimal(best["total"]))
    assert best["carrier"] in cheaper[0]["reason"] and home.policy_number in cheaper[0]["reason"]
    assert [a["title"] for a in mine["recommendations"] if a["kind"] == "coverage_gap"] == ["No life cover"]
    assert advice["potential_saving"] == mine["potential_saving"] == cheaper[0]["saving"]
