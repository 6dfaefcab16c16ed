"""The CRM through the gateway: an agent's day (customer, policy, claim, quote -> policy), calls
from unknown numbers kept and linked, the demo customer's self-service view, and the CRM's
operations in the platform's merged OpenAPI."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from aintech_contracts.events.crm import InteractionLogged
from aintech_devtools.testing import find_event, publish_event

SEED_PASSWORD = "Aintech-Demo-2026!"


def _token(gw: httpx.Client, email: str) -> dict[str, str]:
    resp = gw.post("/api/auth/login", json={"email": email, "password": SEED_PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def _once() -> dict[str, str]:
    """A fresh Idempotency-Key: CRM transitions need it (or If-Match), see docs/crm.md."""
    return {"Idempotency-Key": str(uuid.uuid4())}


def _ok(resp: httpx.Response, status: int = 200) -> Any:
    assert resp.status_code == status, (
        f"{resp.request.method} {resp.request.url} -> {resp.status_code}: {resp.text}"
    )
    return resp.json() if resp.content else None


def test_agent_sells_handles_a_claim_and_converts_a_quote(gw: httpx.Client, kafka_bootstrap: str) -> None:
    agent = _token(gw, "agent1@aintech.com")
    supervisor = _token(gw, "supervisor1@aintech.com")
    email = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
    customer = _ok(
        gw.post(
            "/api/crm/customers",
            headers=agent,
            json={
                "first_name": "Begoña",
                "last_name": "Ibáñez",
                "email": email,
                "mobile": "634 567 890",
                "postal_code": "48001",
            },
        ),
        201,
    )
    assert customer["province"] == "Bizkaia" and customer["mobile"] == "+34634567890"
    found = _ok(gw.get("/api/crm/customers", headers=agent, params={"q": "begona ibanez"}))
    assert customer["id"] in [c["id"] for c in found["items"]]
    start = date.today() - timedelta(days=10)
    policy = _ok(
        gw.post(
            "/api/crm/policies",
            headers=agent,
            json={
                "customer_id": customer["id"],
                "policy_type": "home",
                "carrier": "Allianz",
                "coverage_start_date": str(start),
                "coverage_end_date": str(start + timedelta(days=365)),
                "premium_amount": "380.00",
                "coverage_amount": "200000.00",
                "details": {"property_address": "Gran Vía 1, Bilbao", "property_type": "apartment"},
            },
        ),
        201,
    )
    claim = _ok(
        gw.post(
            "/api/crm/claims",
            headers=agent,
            json={
                "policy_id": policy["id"],
                "claim_type": "water_damage",
                "description": "Fuga en la cocina",
                "incident_date": f"{date.today() - timedelta(days=1)}T09:00:00+01:00",
                "claimed_amount": "1200.00",
            },
        ),
        201,
    )
    _ok(gw.post(f"/api/crm/claims/{claim['id']}/investigate", headers=agent))
    skipped = gw.post(f"/api/crm/claims/{claim['id']}/pay", headers={**supervisor, **_once()})
    assert skipped.status_code == 409 and skipped.headers["content-type"] == "application/problem+json"
    assert (
        gw.post(
            f"/api/crm/claims/{claim['id']}/approve", headers={**agent, **_once()}, json={"amount": "1000"}
        ).status_code
        == 403
    )
    _ok(
        gw.post(
            f"/api/crm/claims/{claim['id']}/approve",
            headers={**supervisor, **_once()},
            json={"amount": "1000.00"},
        )
    )
    paid = _ok(gw.post(f"/api/crm/claims/{claim['id']}/pay", headers={**supervisor, **_once()}))
    assert paid["status"] == "paid" and paid["paid_amount"] == "1000.00"
    quote = _ok(
        gw.post(
            "/api/crm/quotes",
            headers=agent,
            json={
                "customer_id": customer["id"],
                "quote_type": "auto",
                "base_premium": "540.00",
                "coverage_details": {"make": "Kia", "model": "Sportage", "year": 2022, "plate": "4321 KLM"},
                "carrier_quotes": [
                    {"carrier": "Mapfre", "premium": "530.00"},
                    {"carrier": "AXA", "premium": "560.00"},
                ],
            },
        ),
        201,
    )
    converted = _ok(gw.post(f"/api/crm/quotes/{quote['id']}/convert", headers={**agent, **_once()}, json={}))
    assert (
        gw.post(f"/api/crm/quotes/{quote['id']}/convert", headers={**agent, **_once()}, json={}).status_code
        == 409
    )
    new_policy = _ok(gw.get(f"/api/crm/policies/{converted['policy_id']}", headers=agent))
    assert new_policy["carrier"] == "Mapfre" and new_policy["premium_amount"] == "540.00"
    stats = _ok(gw.get(f"/api/crm/customers/{customer['id']}/stats", headers=agent))
    assert stats["policies_active"] == 2 and stats["paid_amount"] == "1000.00"
    relayed = asyncio.run(
        find_event(
            kafka_bootstrap, "crm.claim", lambda e: e.type == "claim.paid" and e.subject == claim["id"]
        )
    )
    assert relayed is not None, "claim.paid never reached Kafka through the fleet's relay"
    # The fleet's own worker reacts: the welcome task appears for the new customer (the worker may
    # first work through the events earlier tests left on the topics).
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        tasks = _ok(gw.get("/api/crm/tasks", headers=agent, params={"customer_id": customer["id"]}))["items"]
        if any(t["task_type"] == "welcome" for t in tasks):
            break
        time.sleep(0.5)
    else:
        raise AssertionError("no welcome task from the worker's customer.created consumer")


def _eventually(what: str, probe: Callable[[], Any], within: float = 180) -> Any:
    """The first truthy answer of ``probe`` (the fleet's worker may first work through the events
    earlier tests left on the topics)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if found := probe():
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_calls_from_unknown_numbers_are_kept_and_linked(gw: httpx.Client, kafka_bootstrap: str) -> None:
    agent = _token(gw, "agent1@aintech.com")
    me = _token(gw, "customer1@aintech.com")
    calls = [
        InteractionLogged(
            source="telephony",
            external_id=f"CA{uuid.uuid4().hex}",
            type="call",
            direction="inbound",
            occurred_at=datetime.now(UTC) - timedelta(minutes=3),
            phone=f"+346{secrets.randbelow(10**8):08d}",
            summary=summary,
            duration_seconds=95,
        )
        for summary in ("Quiere asegurar su moto.", "Pregunta por su póliza de hogar.")
    ]
    for call in calls:
        asyncio.run(publish_event(kafka_bootstrap, call, key=str(call.phone), source="telephony"))

    def kept(call: InteractionLogged) -> Callable[[], Any]:
        def probe() -> Any:
            rows = _ok(gw.get("/api/crm/unmatched-interactions", headers=agent, params={"limit": 100}))
            return next((r for r in rows["items"] if r["external_id"] == call.external_id), None)

        return probe

    newcomer_call, known_call = (_eventually(f"{c.external_id} kept", kept(c)) for c in calls)
    assert (newcomer_call["status"], newcomer_call["phone"]) == ("open", calls[0].phone)
    assert gw.get("/api/crm/unmatched-interactions", headers=me).status_code == 403

    # An agent recognises the second caller as an existing customer and links the call by hand.
    known = _ok(
        gw.post(
            "/api/crm/customers",
            headers=agent,
            json={"first_name": "Íñigo", "last_name": "Etxeberria", "postal_code": "20001"},
        ),
        201,
    )
    linked = _ok(
        gw.post(
            f"/api/crm/unmatched-interactions/{known_call['id']}/link",
            headers=agent,
            json={"customer_id": known["id"]},
        )
    )
    assert linked["status"] == "linked" and linked["interaction_id"]
    timeline = _ok(gw.get(f"/api/crm/customers/{known['id']}/timeline", headers=agent))["items"]
    assert [e["id"] for e in timeline] == [linked["interaction_id"]]

    # The first caller becomes a customer with that mobile: the worker links the call by itself.
    newcomer = _ok(
        gw.post(
            "/api/crm/customers",
            headers=agent,
            json={"first_name": "Ane", "last_name": "Zubizarreta", "mobile": calls[0].phone},
        ),
        201,
    )

    def on_timeline() -> Any:
        return _ok(gw.get(f"/api/crm/customers/{newcomer['id']}/timeline", headers=agent))["items"]

    [entry] = _eventually("the call on the new customer's timeline", on_timeline)
    assert (entry["type"], entry["description"]) == ("call", "Quiere asegurar su moto.")
    after = _ok(gw.get(f"/api/crm/unmatched-interactions/{newcomer_call['id']}", headers=agent))
    assert (after["status"], after["customer_id"], after["resolved_by"]) == ("linked", newcomer["id"], None)


def test_demo_customer_sees_only_their_own_records(gw: httpx.Client) -> None:
    me = _token(gw, "customer1@aintech.com")
    agent = _token(gw, "agent1@aintech.com")
    deadline = time.monotonic() + 180
    while True:  # the account is linked when the worker has read the authenticator's events
        resp = gw.get("/api/crm/customers/me", headers=me)
        if resp.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    mine = _ok(resp)
    assert mine["email"] == "customer1@aintech.com"
    my_policies = _ok(gw.get("/api/crm/policies", headers=me))["items"]
    assert my_policies and all(p["customer_id"] == mine["id"] for p in my_policies)
    someone = next(
        c
        for c in _ok(gw.get("/api/crm/customers", headers=agent, params={"limit": 5}))["items"]
        if c["id"] != mine["id"]
    )
    assert gw.get(f"/api/crm/customers/{someone['id']}", headers=me).status_code == 404
    their_policies = _ok(gw.get("/api/crm/policies", headers=agent, params={"customer_id": someone["id"]}))[
        "items"
    ]
    for policy in their_policies[:1]:
        assert gw.get(f"/api/crm/policies/{policy['id']}", headers=me).status_code == 404
    assert gw.get("/api/crm/tasks", headers=me).status_code == 403
    export = _ok(gw.get(f"/api/crm/customers/{mine['id']}/export", headers=me))
    assert export["customer"]["id"] == mine["id"]


def test_crm_operations_are_in_the_platform_openapi(gw: httpx.Client) -> None:
    spec = gw.get("/openapi.json").json()
    convert = spec["paths"]["/api/crm/quotes/{quote_id}/convert"]["post"]
    assert convert["tags"][0] == "core-crm" and "converts once" in convert["description"]
    create = spec["paths"]["/api/crm/customers"]["post"]
    assert create["summary"] == "Create a customer"
    body_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    assert spec["components"]["schemas"][body_ref].get("examples"), "request examples are published"
    for path in (
        "/api/crm/claims/{claim_id}/approve",
        "/api/crm/workflows",
        "/api/crm/customers/{customer_id}/timeline",
    ):
        assert path in spec["paths"], path
