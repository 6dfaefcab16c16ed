"""Quotes: pricing, the status machine, expiry, conversion to a policy exactly once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from core_crm.quotes import service as quotes

from .conftest import Api, once

AUTO = {"make": "SEAT", "model": "León", "year": 2021, "plate": "1234 BCD"}


async def _quote(api: Api, customer_id: str, **fields: Any) -> dict[str, Any]:
    body = {
        "customer_id": customer_id,
        "quote_type": "auto",
        "coverage_details": AUTO,
        "base_premium": "620.00",
        "discounts": [{"type": "no_claims", "percent": "10"}],
        "surcharges": [{"type": "young_driver", "amount": "45.00"}],
        "carrier_quotes": [
            {"carrier": "Mapfre", "premium": "603.00", "coverage_amount": "50000.00"},
            {"carrier": "AXA", "premium": "639.90", "coverage_amount": "60000.00"},
        ],
        **fields,
    }
    return dict((await api.call("POST", "/quotes", json=body, expect=201)).json())


async def test_pricing_applies_discounts_and_surcharges(api: Api) -> None:
    customer = await api.customer()
    quote = await _quote(api, customer["id"])
    assert quote["total_premium"] == "603.00"  # 620 - 62 + 45
    assert quote["status"] == "draft" and quote["quote_number"].startswith("QUO-")
    [event] = await api.events("quote.created", key=quote["id"])
    assert event["data"]["best_carrier"] == "Mapfre"
    assert [c["premium"] for c in event["data"]["carriers"]] == ["603.00", "639.90"]
    await api.call(
        "POST",
        "/quotes",
        json={
            "customer_id": customer["id"],
            "quote_type": "auto",
            "coverage_details": AUTO,
            "base_premium": "100",
            "discounts": [{"type": "x", "amount": "150"}],
        },
        expect=422,
    )
    await api.call(
        "POST",
        "/quotes",
        json={
            "customer_id": customer["id"],
            "quote_type": "auto",
            "coverage_details": AUTO,
            "base_premium": "100",
            "discounts": [{"type": "x", "amount": "1", "percent": "1"}],
        },
        expect=422,
    )
    edited = await api.call("PATCH", f"/quotes/{quote['id']}", json={"base_premium": "700.00"}, expect=200)
    assert edited.json()["total_premium"] == "675.00"


async def test_status_machine_and_expiry(api: Api, app: FastAPI) -> None:
    customer = await api.customer()
    quote = await _quote(api, customer["id"])
    url = f"/quotes/{quote['id']}"
    await api.call("POST", f"{url}/send", expect=200)
    await api.call("POST", f"{url}/send", expect=409)
    await api.call("POST", f"{url}/reject", expect=200)
    await api.call("POST", f"{url}/accept", expect=409)
    await api.call("POST", f"{url}/convert", expect=409)
    stale = await _quote(api, customer["id"])
    await api.conn.execute(
        text("UPDATE crm.quotes SET valid_until = now() - interval '1 day' WHERE id = :id"),
        {"id": stale["id"]},
    )
    await api.call("POST", f"/quotes/{stale['id']}/convert", expect=409)
    async with app.state.db.transaction() as session:
        assert await quotes.expire_overdue(session) >= 1
    assert (await api.call("GET", f"/quotes/{stale['id']}", expect=200)).json()["status"] == "expired"


async def test_a_draft_that_was_never_sent_cannot_be_accepted(api: Api) -> None:
    customer = await api.customer()
    me = await api.customer_login(customer["id"])
    draft = await _quote(api, customer["id"])
    url = f"/quotes/{draft['id']}"
    refused = await api.call("POST", f"{url}/accept", headers=me, expect=409)
    assert "draft" in refused.json()["detail"] and refused.json()["current_status"] == "draft"
    await api.call("POST", f"{url}/reject", headers=me, expect=409)
    await api.call("POST", f"{url}/accept", expect=409)  # staff neither: draft -> sent -> accepted
    assert (await api.call("GET", url, expect=200)).json()["status"] == "draft"
    await api.call("POST", f"{url}/send", expect=200)
    assert (await api.call("POST", f"{url}/accept", headers=me, expect=200)).json()["status"] == "accepted"


async def test_conversion_creates_the_policy_once(api: Api) -> None:
    customer = await api.customer()
    quote = await _quote(api, customer["id"], selected_carrier="AXA")
    converted = await api.call(
        "POST",
        f"/quotes/{quote['id']}/convert",
        json={"premium_frequency": "monthly", "coverage_start_date": "2026-12-01"},
        expect=200,
    )
    body = converted.json()
    assert body["quote"]["status"] == "converted" and body["quote"]["policy_id"] == body["policy_id"]
    policy = (await api.call("GET", f"/policies/{body['policy_id']}", expect=200)).json()
    assert (
        policy["carrier"] == "AXA"
        and policy["premium_amount"] == "50.25"
        and policy["coverage_amount"] == "60000.00"
    )
    assert policy["coverage_end_date"] == "2027-12-01" and policy["details"]["plate"] == "1234BCD"
    again = await api.call("POST", f"/quotes/{quote['id']}/convert", expect=409)
    assert again.json()["policy_id"] == body["policy_id"]
    [event] = await api.events("quote.converted", key=quote["id"])
    assert event["data"]["policy_number"] == body["policy_number"]
    [created] = await api.events("policy.created", key=body["policy_id"])
    assert created["data"]["quote_id"] == quote["id"]


async def test_conversion_with_bad_details_changes_nothing(api: Api) -> None:
    customer = await api.customer()
    quote = await _quote(api, customer["id"], coverage_details={"vehicle": "unknown"})
    await api.call("POST", f"/quotes/{quote['id']}/convert", expect=422)
    assert (await api.call("GET", f"/quotes/{quote['id']}", expect=200)).json()["converted"] is False
    await api.call(
        "POST", f"/quotes/{quote['id']}/convert", json={"details": AUTO, "carrier": "Zurich"}, expect=422
    )
    await api.call(
        "POST", f"/quotes/{quote['id']}/convert", json={"details": AUTO, "carrier": "mapfre"}, expect=200
    )


async def test_concurrent_conversions_make_one_policy(committed: Api) -> None:
    api = committed
    customer = await api.customer()
    quote = await _quote(api, customer["id"])
    results = await asyncio.gather(
        *(
            api.client.post(f"/quotes/{quote['id']}/convert", headers={**api.agent, **once()})
            for _ in range(4)
        )
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409, 409, 409], [r.text for r in results]
    policies = await api.conn.scalar(
        text("SELECT count(*) FROM crm.policies WHERE customer_id = :c"), {"c": customer["id"]}
    )
    assert policies == 1


async def test_customers_see_and_decide_only_their_quotes(api: Api) -> None:
    mine = await api.customer()
    other = await api.customer()
    my_quote = await _quote(api, mine["id"])
    other_quote = await _quote(api, other["id"])
    me = await api.customer_login(mine["id"])
    await api.call("GET", f"/quotes/{other_quote['id']}", headers=me, expect=404)
    await api.call("POST", f"/quotes/{other_quote['id']}/accept", headers=me, expect=404)
    assert [q["id"] for q in (await api.call("GET", "/quotes", headers=me, expect=200)).json()["items"]] == [
        my_quote["id"]
    ]
    await api.call("POST", f"/quotes/{my_quote['id']}/send", expect=200)
    await api.call("POST", f"/quotes/{my_quote['id']}/accept", headers=me, expect=200)
    await api.call("POST", f"/quotes/{my_quote['id']}/convert", headers=me, expect=403)
    await api.call(
        "POST",
        "/quotes",
        json={"customer_id": mine["id"], "quote_type": "auto", "coverage_details": AUTO, "base_premium": "1"},
        headers=me,
        expect=403,
    )
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    await api.call("PATCH", f"/quotes/{my_quote['id']}", json={"valid_until": future}, expect=409)
