"""Automatic renewal: a policy set to `auto_renew` is priced by the quote engine before its due date
and renews on it (new term, new premium, one `policy.renewed`), unless the price rises above the
threshold or there is no price (then the agent gets a task); a worker dying between the steps, or
running them twice, renews once. The clock is the `today` the job is given."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import EventData
from aintech_contracts.events.quotes import PricedOffer, QuoteCalculated, QuotePricingFailed
from core_crm.consumers import consumer_specs
from core_crm.renewals import auto

from .conftest import Api

RISK = {
    "postal_code": "28013",
    "driver_age": 40,
    "years_licensed": 20,
    "vehicle_power_hp": 110,
    "vehicle_age": 3,
    "km_per_year": 12000,
}
START = date(2026, 2, 1)
DUE = date(2027, 2, 1)  # the end of the first term: the renewal's due date
ASK_ON = DUE - timedelta(days=10)  # inside the default 30 lead days
OLD_ANNUAL = Decimal("1000.00")


def _offer(carrier: str, cover: str, total: str, rank: int, version: int = 1) -> PricedOffer:
    return PricedOffer(
        product_code=f"{carrier.lower()}-auto",
        carrier=carrier,
        cover_level=cover,
        cover_name=cover,
        rank=rank,
        tariff_version_id=uuid.uuid4(),
        tariff_version=version,
        net_premium=Decimal(total) - Decimal("10.00"),
        total=Decimal(total),
        eligible=True,
    )


def _answer(request: dict[str, Any], *offers: PricedOffer, priced_on: date) -> QuoteCalculated:
    return QuoteCalculated(
        calculation_id=uuid.uuid4(),
        kind="comparison",
        line="auto",
        priced_on=priced_on,
        customer_id=uuid.UUID(request["customer_id"]),
        risk={**request["risk"], "line": "auto"},
        offers=list(offers),
        recommended_product_code=offers[0].product_code if offers else None,
        recommended_cover_level=offers[0].cover_level if offers else None,
        crm_request_id=uuid.UUID(request["request_id"]),
        created_at=datetime.now(UTC),
    )


@asynccontextmanager
async def _session(bind: AsyncConnection | AsyncEngine) -> AsyncIterator[AsyncSession]:
    """One unit of work: committed at the end (on the test's connection: a savepoint)."""
    if isinstance(bind, AsyncEngine):
        async with AsyncSession(bind=bind, expire_on_commit=False) as session:
            yield session
            await session.commit()
        return
    async with AsyncSession(bind=bind, join_transaction_mode="create_savepoint") as session:
        yield session
        await session.commit()


async def _deliver(bind: AsyncConnection | AsyncEngine, app: FastAPI, payload: EventData) -> None:
    """The CRM's pricing consumer handling the engine's answer (a fresh event id each time)."""
    spec = next(s for s in consumer_specs(app.state.runtime) if s.name == "core-crm.pricing")
    event = CloudEvent.wrap(payload, type_=payload.event_type, source="quote-engine", subject=None)
    async with _session(bind) as session:
        await spec.handlers[payload.event_type](session, event)


async def _ask(bind: AsyncConnection | AsyncEngine, app: FastAPI, today: date) -> int:
    async with _session(bind) as session:
        return await auto.request_due(session, rt=app.state.runtime, today=today)


async def _renew(bind: AsyncConnection | AsyncEngine, app: FastAPI, today: date) -> int:
    async with _session(bind) as session:
        return await auto.renew_due(session, rt=app.state.runtime, today=today)


async def _auto_renewing_policy(
    api: Api, app: FastAPI, bind: AsyncConnection | AsyncEngine
) -> dict[str, Any]:
    """A Mapfre auto policy sold from an engine-priced quote (1000.00 € a year), set to auto-renew."""
    customer = await api.customer()
    body = {"customer_id": customer["id"], "quote_type": "auto", "risk": RISK}
    accepted = (await api.call("POST", "/quotes/pricing-requests", json=body, expect=202)).json()
    request = {**body, "request_id": accepted["request_id"]}
    sold = _offer("Mapfre", "terceros_ampliado", str(OLD_ANNUAL), 1)
    await _deliver(bind, app, _answer(request, sold, priced_on=START))
    (quote,) = (await api.call("GET", f"/quotes?customer_id={customer['id']}", expect=200)).json()["items"]
    details = {"make": "SEAT", "model": "Ibiza", "year": 2023, "plate": "1234BCD"}
    convert = {
        "carrier": "Mapfre",
        "premium_frequency": "monthly",
        "coverage_start_date": START.isoformat(),
        "details": details,
    }
    converted = (await api.call("POST", f"/quotes/{quote['id']}/convert", json=convert, expect=200)).json()
    url = f"/policies/{converted['policy_id']}"
    etag = (await api.call("GET", url, expect=200)).headers["etag"]
    await api.call("PATCH", url, json={"auto_renew": True}, expect=428)  # the usual precondition
    policy = (
        await api.call(
            "PATCH", url, json={"auto_renew": True}, headers={**api.agent, "If-Match": etag}, expect=200
        )
    ).json()
    assert policy["auto_renew"] is True and policy["coverage_end_date"] == DUE.isoformat()
    assert policy["premium_amount"] == "83.33" and policy["annual_premium"] == "999.96"
    return dict(policy)


async def _renewal_request(api: Api, policy: dict[str, Any]) -> dict[str, Any]:
    requests = [
        e["data"]
        for e in await api.events("quote.pricing_requested", key=policy["customer_id"])
        if e["data"].get("purpose") == "renewal"
    ]
    assert len(requests) == 1, requests
    return requests[0]


async def _review_tasks(api: Api, policy_id: str) -> list[str]:
    rows = await api.conn.execute(
        text("SELECT description FROM crm.tasks WHERE policy_id = :p AND task_type = 'renewal_review'"),
        {"p": policy_id},
    )
    return [r[0] for r in rows]


async def test_a_rise_under_the_threshold_renews_on_the_due_date_with_the_new_premium(
    api: Api, app: FastAPI
) -> None:
    policy = await _auto_renewing_policy(api, app, api.conn)
    assert await _ask(api.conn, app, DUE - timedelta(days=31)) == 0  # not yet within the lead days
    assert await _ask(api.conn, app, ASK_ON) == 1
    request = await _renewal_request(api, policy)
    # The carrier's tariff in force at the renewal date, for the policy's carrier and cover level.
    assert request["effective_date"] == DUE.isoformat()
    assert request["carriers"] == ["Mapfre"] and request["cover_levels"] == ["terceros_ampliado"]
    assert request["risk"] == RISK

    new = _offer("Mapfre", "terceros_ampliado", "1080.00", 1, version=2)  # +8 %, under 10 %
    await _deliver(api.conn, app, _answer(request, new, priced_on=DUE))
    assert await _renew(api.conn, app, DUE - timedelta(days=1)) == 0  # not before its due date
    assert await api.events("policy.renewed", key=policy["id"]) == []

    assert await _renew(api.conn, app, DUE) == 1
    renewed = (await api.call("GET", f"/policies/{policy['id']}", expect=200)).json()
    assert renewed["term_number"] == 2
    assert renewed["coverage_start_date"] == DUE.isoformat()
    assert renewed["coverage_end_date"] == "2028-02-01"
    assert renewed["premium_amount"] == "90.00" and renewed["premium_frequency"] == "monthly"
    assert renewed["metadata"]["pricing"]["tariff_version_id"] == str(new.tariff_version_id)
    (event,) = await api.events("policy.renewed", key=policy["id"])
    assert event["data"]["automatic"] is True
    assert event["data"]["premium_amount"] == "90.00" and event["data"]["previous_premium_amount"] == "83.33"
    assert await _review_tasks(api, policy["id"]) == []


async def test_a_rise_over_the_threshold_makes_a_task_and_does_not_renew(api: Api, app: FastAPI) -> None:
    policy = await _auto_renewing_policy(api, app, api.conn)
    await _ask(api.conn, app, ASK_ON)
    request = await _renewal_request(api, policy)
    dearer = _offer("Mapfre", "terceros_ampliado", "1150.00", 1, version=2)  # +15 %
    await _deliver(api.conn, app, _answer(request, dearer, priced_on=DUE))
    assert await _renew(api.conn, app, DUE) == 0
    unchanged = (await api.call("GET", f"/policies/{policy['id']}", expect=200)).json()
    assert unchanged["term_number"] == 1 and unchanged["premium_amount"] == "83.33"
    assert await api.events("policy.renewed", key=policy["id"]) == []
    (task,) = await _review_tasks(api, policy["id"])
    assert "sube un 15.00 %" in task and "por encima del 10 %" in task


async def test_no_price_makes_a_task(api: Api, app: FastAPI) -> None:
    policy = await _auto_renewing_policy(api, app, api.conn)
    await _ask(api.conn, app, ASK_ON)
    request = await _renewal_request(api, policy)
    refusal = QuotePricingFailed(
        crm_request_id=uuid.UUID(request["request_id"]),
        customer_id=uuid.UUID(policy["customer_id"]),
        reason="carriers: no auto product of these carriers is in force on 2027-02-01",
    )
    await _deliver(api.conn, app, refusal)
    await _deliver(api.conn, app, refusal)  # redelivered
    assert await _renew(api.conn, app, DUE) == 0
    assert await api.events("policy.renewed", key=policy["id"]) == []
    (task,) = await _review_tasks(api, policy["id"])
    assert refusal.reason in task
    # The refusal of a renewal is not a new quote's refusal.
    quote_tasks = await api.conn.scalar(
        text("SELECT count(*) FROM crm.tasks WHERE dedupe_key = :k"),
        {"k": f"quote-pricing-failed:{request['request_id']}"},
    )
    assert quote_tasks == 0


async def test_a_killed_or_twice_run_worker_renews_once(committed: Api, app: FastAPI) -> None:
    """Every step on a committed database, each in its own transaction as a worker runs it: a step
    that dies before committing leaves nothing, and every step run again changes nothing."""
    api = committed
    engine: AsyncEngine = app.state.db.engine
    policy = await _auto_renewing_policy(api, app, engine)

    # The worker dies while asking (its transaction never commits): nothing was asked.
    async with AsyncSession(bind=engine) as session:
        assert await auto.request_due(session, rt=app.state.runtime, today=ASK_ON) >= 1
        await session.rollback()
    assert [
        e
        for e in await api.events("quote.pricing_requested", key=policy["customer_id"])
        if e["data"].get("purpose") == "renewal"
    ] == []

    await _ask(engine, app, ASK_ON)
    await _ask(engine, app, ASK_ON)  # the restarted worker runs the daily job again
    await _ask(engine, app, ASK_ON + timedelta(days=1))
    request = await _renewal_request(api, policy)

    answer = _answer(request, _offer("Mapfre", "terceros_ampliado", "1020.00", 1, version=2), priced_on=DUE)
    await _deliver(engine, app, answer)
    await _deliver(engine, app, answer)  # redelivered after a restart

    # The worker dies while renewing: the policy is untouched and no event left.
    async with AsyncSession(bind=engine) as session:
        assert await auto.renew_due(session, rt=app.state.runtime, today=DUE) >= 1
        await session.rollback()
    assert await api.events("policy.renewed", key=policy["id"]) == []

    await _renew(engine, app, DUE)
    await _renew(engine, app, DUE)
    await _renew(engine, app, DUE + timedelta(days=1))
    await _ask(engine, app, DUE + timedelta(days=1))  # the new term is far from due: nothing asked
    events = await api.events("policy.renewed", key=policy["id"])
    assert len(events) == 1 and events[0]["data"]["premium_amount"] == "85.00"
    terms = (await api.call("GET", f"/policies/{policy['id']}/terms", expect=200)).json()
    assert [t["term_number"] for t in terms] == [1, 2]
    status = await api.conn.scalar(
        text("SELECT string_agg(status, ',') FROM crm.auto_renewals WHERE policy_id = :p"),
        {"p": policy["id"]},
    )
    assert status == "renewed"
