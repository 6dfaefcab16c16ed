"""Unique keys under real concurrency: requests that all passed the friendly duplicate check race
to the unique index on their own connections; one is created, the others get 409 problem+json
naming the field (never a 500)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
from sqlalchemy import text

from .conftest import DNIS, Live

RACERS = 4


async def _race(
    live: Live, hold: str, params: dict[str, Any], send: Callable[[], Coroutine[Any, Any, httpx.Response]]
) -> list[httpx.Response]:
    """Hold a conflicting uncommitted row while ``RACERS`` requests pass their duplicate check and
    queue on the unique index behind it, then roll it back: they race each other for real."""
    async with live.database.engine.connect() as holder:
        transaction = await holder.begin()
        await holder.execute(text(hold), params)
        requests = [asyncio.create_task(send()) for _ in range(RACERS)]
        try:
            await live.database.wait_for_lock_waiters(RACERS)
        finally:
            await transaction.rollback()
        return list(await asyncio.gather(*requests))


def _verdict(responses: list[httpx.Response], field: str, *, ok: int = 201) -> dict[str, Any]:
    codes = sorted(r.status_code for r in responses)
    assert codes == sorted([ok] + [409] * (RACERS - 1)), [r.text for r in responses]
    for refused in (r for r in responses if r.status_code == 409):
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert problem["status"] == 409
        assert [e["field"] for e in problem["errors"]] == [field], problem
    return dict(next(r for r in responses if r.status_code == ok).json())


HOLD_CUSTOMER = (
    "INSERT INTO crm.customers (id, first_name, last_name, email, dni)"
    " VALUES (gen_random_uuid(), 'Reserva', 'Temporal', :email, :dni)"
)


async def test_concurrent_customers_with_one_dni_make_one_customer(live: Live) -> None:
    dni = DNIS[3]

    async def send() -> httpx.Response:
        body = {
            "first_name": "Ana",
            "last_name": "Ruiz",
            "dni": dni,
            "email": f"{uuid.uuid4().hex}@example.com",
        }
        return await live.client.post("/customers", json=body, headers=live.agent)

    created = _verdict(await _race(live, HOLD_CUSTOMER, {"email": None, "dni": dni}, send), "dni")
    count = await live.conn.scalar(text("SELECT count(*) FROM crm.customers WHERE dni = :d"), {"d": dni})
    assert count == 1 and created["dni"] == dni
    events = await live.conn.scalar(
        text("SELECT count(*) FROM crm.outbox WHERE event_type = 'customer.created'")
    )
    assert events == 1, "the refused requests published nothing"


async def test_concurrent_customers_with_one_email_make_one_customer(live: Live) -> None:
    email = f"carrera-{uuid.uuid4().hex[:8]}@example.com"

    async def send() -> httpx.Response:
        # Any capitalisation is the same address.
        body = {"first_name": "Ana", "last_name": "Ruiz", "email": email.upper()}
        return await live.client.post("/customers", json=body, headers=live.agent)

    _verdict(await _race(live, HOLD_CUSTOMER, {"email": email, "dni": None}, send), "email")
    count = await live.conn.scalar(
        text("SELECT count(*) FROM crm.customers WHERE lower(email) = :e"), {"e": email}
    )
    assert count == 1


async def test_concurrent_email_changes_to_one_address_leave_one_owner(live: Live) -> None:
    email = f"cambio-{uuid.uuid4().hex[:8]}@example.com"
    customers = [await live.customer() for _ in range(RACERS)]
    etags = {
        c["id"]: (await live.call("GET", f"/customers/{c['id']}", expect=200)).headers["etag"]
        for c in customers
    }
    pending = iter(customers)

    async def send() -> httpx.Response:
        customer = next(pending)
        return await live.client.patch(
            f"/customers/{customer['id']}",
            json={"email": email},
            headers={**live.agent, "If-Match": etags[customer["id"]]},
        )

    _verdict(await _race(live, HOLD_CUSTOMER, {"email": email, "dni": None}, send), "email", ok=200)
    owners = await live.conn.scalar(
        text("SELECT count(*) FROM crm.customers WHERE lower(email) = :e"), {"e": email}
    )
    assert owners == 1


async def test_concurrent_policies_with_one_number_make_one_policy(live: Live) -> None:
    customer = await live.customer()
    number = f"MAP-{uuid.uuid4().hex[:10]}"

    async def send() -> httpx.Response:
        body = {
            "customer_id": customer["id"],
            "policy_number": number,
            "policy_type": "home",
            "carrier": "Mapfre",
            "coverage_start_date": "2026-01-01",
            "coverage_end_date": "2027-01-01",
            "premium_amount": "420.00",
            "details": {"property_address": "Calle Mayor 12", "property_type": "apartment"},
        }
        return await live.client.post("/policies", json=body, headers=live.agent)

    hold = (
        "INSERT INTO crm.policies (id, customer_id, policy_number, policy_type, carrier,"
        " coverage_start_date, coverage_end_date, premium_amount)"
        " VALUES (gen_random_uuid(), :c, :n, 'home', 'Mapfre', '2026-01-01', '2027-01-01', 1)"
    )
    _verdict(await _race(live, hold, {"c": customer["id"], "n": number}, send), "policy_number")
    count = await live.conn.scalar(
        text("SELECT count(*) FROM crm.policies WHERE policy_number = :n"), {"n": number}
    )
    terms = await live.conn.scalar(text("SELECT count(*) FROM crm.policy_terms"))
    assert count == 1 and terms == 1, "nothing half-written by the refused requests"
