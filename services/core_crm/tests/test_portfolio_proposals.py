"""Policy proposals from a carrier's portfolio sync: a listed policy that differs proposes the
differences, an unknown one proposes creating it, one the portal no longer lists is reported as
`missing`; a second sync with nothing changed proposes nothing, and nothing changes a policy until
an agent accepts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events.base import EventData
from aintech_contracts.events.scraper import ParsedField, PortfolioPolicyListed, PortfolioSynced
from core_crm.consumers import consumer_specs

from .conftest import DNIS, Api, once

JOB = uuid.uuid4()


def _listed(number: str, **fields: Any) -> PortfolioPolicyListed:
    read: dict[str, Any] = {
        "policy_number": {"value": number, "confidence": 0.99},
        "holder": {"value": "Lucía Martín", "confidence": 0.99},
        "start_date": {"value": "2026-01-01", "confidence": 0.99},
        "end_date": {"value": "2027-01-01", "confidence": 0.99},
        "premium_total": {"value": "420.00", "confidence": 0.99, "currency": "EUR"},
        "product": {"value": "Hogar Plus", "confidence": 0.99},
        **fields,
    }
    return PortfolioPolicyListed(
        job_id=JOB,
        carrier="mapfre",
        carrier_name="Mapfre",
        policy_number=number,
        fields={k: ParsedField.model_validate(v) for k, v in read.items() if v is not None},
        unreadable=[k for k, v in read.items() if v is None],
        page=1,
        listed_at=datetime.now(UTC),
    )


def _synced(*numbers: str, unnumbered: int = 0) -> PortfolioSynced:
    return PortfolioSynced(
        job_id=JOB,
        carrier="mapfre",
        carrier_name="Mapfre",
        policy_numbers=list(numbers),
        pages=1,
        rows=len(numbers),
        flagged=unnumbered,
        unnumbered=unnumbered,
        synced_at=datetime.now(UTC),
    )


async def _deliver(api: Api, app: FastAPI, payload: EventData) -> None:
    """The CRM's consumer handler on the test's session, as the worker runs it (a new event id)."""
    spec = next(s for s in consumer_specs(app.state.runtime) if s.name == "core-crm.proposals")
    event = CloudEvent.wrap(payload, type_=payload.event_type, source="scraper", subject="mapfre")
    async with AsyncSession(bind=api.conn, join_transaction_mode="create_savepoint") as session:
        await spec.handlers[payload.event_type](session, event)
        await session.commit()


async def _proposals(api: Api, number: str) -> list[dict[str, Any]]:
    page = (await api.call("GET", "/policy-proposals", params={"limit": "100"}, expect=200)).json()
    return [p for p in page["items"] if p["policy_number"] == number]


def _number() -> str:
    return f"MAP-{uuid.uuid4().hex[:10].upper()}"


async def test_a_listed_policy_that_differs_proposes_the_difference_once(api: Api, app: FastAPI) -> None:
    customer = await api.customer(dni=DNIS[2])
    number = _number()
    policy = await api.policy(customer["id"], policy_number=number)
    row = _listed(number, premium_total={"value": "455.30", "confidence": 0.99})
    await _deliver(api, app, row)
    await _deliver(api, app, _listed(number, premium_total={"value": "455.30", "confidence": 0.99}))
    (proposal,) = await _proposals(api, number)
    assert proposal["kind"] == "reconcile" and proposal["source"] == "portfolio"
    assert proposal["policy_id"] == policy["id"]
    assert [(f["field"], f["old"], f["new"]) for f in proposal["fields"]] == [
        ("premium_total", "420.00", "455.30")
    ]
    unchanged = (await api.call("GET", f"/policies/{policy['id']}", expect=200)).json()
    assert unchanged["premium_amount"] == "420.00"


async def test_a_listed_policy_that_agrees_proposes_nothing(api: Api, app: FastAPI) -> None:
    customer = await api.customer()
    number = _number()
    await api.policy(customer["id"], policy_number=number)
    await _deliver(api, app, _listed(number))
    assert await _proposals(api, number) == []


async def test_a_policy_the_crm_lacks_proposes_creating_it_and_a_second_sync_does_not_again(
    api: Api, app: FastAPI
) -> None:
    customer = await api.customer(dni=DNIS[3])
    number = _number()
    holder = {"value": DNIS[3], "confidence": 0.99, "check_letter_valid": True}
    await _deliver(api, app, _listed(number, holder_id=holder))
    await _deliver(api, app, _listed(number, holder_id=holder))
    (proposal,) = await _proposals(api, number)
    assert proposal["kind"] == "create" and proposal["customer_id"] == customer["id"]
    # Rejected: the same row in the next sync is not proposed again; a changed one is.
    await api.call(
        "POST",
        f"/policy-proposals/{proposal['id']}/reject",
        json={"reason": "No es nuestra"},
        headers={**api.agent, **once()},
        expect=200,
    )
    await _deliver(api, app, _listed(number, holder_id=holder))
    assert len(await _proposals(api, number)) == 1
    await _deliver(
        api, app, _listed(number, holder_id=holder, premium_total={"value": "500.00", "confidence": 0.99})
    )
    assert len(await _proposals(api, number)) == 2


async def test_a_policy_the_portal_no_longer_lists_is_reported_missing_once(api: Api, app: FastAPI) -> None:
    customer = await api.customer()
    kept, gone = _number(), _number()
    await api.policy(customer["id"], policy_number=kept)
    policy = await api.policy(customer["id"], policy_number=gone)
    other = _number()
    await api.policy(customer["id"], policy_number=other, carrier="AXA")
    await _deliver(api, app, _synced(kept))
    await _deliver(api, app, _synced(kept))
    assert await _proposals(api, kept) == []
    assert await _proposals(api, other) == [], "another carrier's policy is not Mapfre's to list"
    (missing,) = await _proposals(api, gone)
    assert missing["kind"] == "missing" and missing["policy_id"] == policy["id"] and missing["fields"] == []
    assert missing["document"]["note"] is None
    accepted = (
        await api.call(
            "POST",
            f"/policy-proposals/{missing['id']}/accept",
            json={},
            headers={**api.agent, **once()},
            expect=200,
        )
    ).json()
    assert accepted["status"] == "accepted" and accepted["applied"] == []
    after = (await api.call("GET", f"/policies/{policy['id']}", expect=200)).json()
    assert after["status"] == policy["status"] and after["version"] == policy["version"]


async def test_a_missing_policy_says_when_the_portal_had_rows_without_a_readable_number(
    api: Api, app: FastAPI
) -> None:
    customer = await api.customer()
    gone = _number()
    await api.policy(customer["id"], policy_number=gone)
    await _deliver(api, app, _synced(unnumbered=2))
    (missing,) = await _proposals(api, gone)
    assert (
        missing["document"]["unnumbered_rows"] == 2
        and "no readable policy number" in missing["document"]["note"]
    )
