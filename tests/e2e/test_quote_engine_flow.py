"""The quote engine through the gateway: an explained premium, and a CRM quote priced by the engine
(quote.pricing_requested -> engine -> quote.calculated -> CRM quote) converted into a policy that
keeps the engine's figure to the cent and its pinned tariff version."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx

SEED_PASSWORD = "Aintech-Demo-2026!"
RISK = {
    "postal_code": "28013",
    "driver_age": 20,
    "years_licensed": 1,
    "vehicle_power_hp": 110,
    "vehicle_age": 3,
    "km_per_year": 12000,
}


def _token(gw: httpx.Client, email: str) -> dict[str, str]:
    resp = gw.post("/api/auth/login", json={"email": email, "password": SEED_PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def _ok(resp: httpx.Response, status: int = 200) -> Any:
    assert resp.status_code == status, (
        f"{resp.request.method} {resp.request.url} -> {resp.status_code}: {resp.text}"
    )
    return resp.json() if resp.content else None


def _eventually(what: str, probe: Callable[[], Any], within: float = 180) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if found := probe():
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_an_explained_premium_through_the_gateway(gw: httpx.Client) -> None:
    agent = _token(gw, "agent1@aintech.com")
    products = _ok(gw.get("/api/quotes/tariffs/products", headers=agent))
    assert {p["carrier"] for p in products} >= {
        "Mapfre",
        "AXA",
        "Allianz",
        "Generali",
        "Zurich",
        "Mutua Madrileña",
    }
    body = {
        "product_code": "mapfre-auto",
        "cover_level": "terceros_ampliado",
        "effective_date": "2026-03-01",
        "risk": {"line": "auto", **RISK},
    }
    calc = _ok(gw.post("/api/quotes/calculate", headers=agent, json=body), 201)
    assert calc["offer"]["total"] == "1133.34"
    assert sum(Decimal(line["amount"]) for line in calc["offer"]["lines"]) == Decimal("1133.34")
    assert _ok(gw.get(f"/api/quotes/{calc['id']}", headers=agent))["offer"] == calc["offer"]
    bad = gw.post("/api/quotes/calculate", headers=agent, json={**body, "cover_level": "gold"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["errors"][0]["field"] == "cover_level"
    customer_token = _token(gw, "customer1@aintech.com")
    assert gw.post("/api/quotes/calculate", headers=customer_token, json=body).status_code == 403


def test_a_crm_quote_is_priced_by_the_engine_and_converted(gw: httpx.Client) -> None:
    agent = _token(gw, "agent1@aintech.com")
    customer = _ok(
        gw.post(
            "/api/crm/customers",
            headers=agent,
            json={
                "first_name": "Iker",
                "last_name": "Gómez",
                "email": f"e2e-{uuid.uuid4().hex[:8]}@example.com",
                "postal_code": "28013",
            },
        ),
        201,
    )
    request = {
        "customer_id": customer["id"],
        "quote_type": "auto",
        "risk": RISK,
        "cover_levels": ["terceros_ampliado", "todo_riesgo"],
        "carriers": ["Mapfre", "AXA", "Zurich"],
    }
    accepted = _ok(gw.post("/api/crm/quotes/pricing-requests", headers=agent, json=request), 202)

    def priced() -> Any:
        items = _ok(gw.get("/api/crm/quotes", headers=agent, params={"customer_id": customer["id"]}))["items"]
        return items[0] if items else None

    quote = _eventually("the engine-priced quote in the CRM", priced)
    assert quote["metadata"]["pricing"]["request_id"] == accepted["request_id"]
    comparison = _ok(gw.get(f"/api/quotes/{quote['metadata']['pricing']['calculation_id']}", headers=agent))
    assert comparison["kind"] == "comparison"
    recommendation = comparison["recommendation"]
    assert quote["total_premium"] == recommendation["total"]
    assert quote["selected_carrier"] == recommendation["carrier"]
    best_per_carrier: dict[str, dict[str, Any]] = {}
    for offer in comparison["offers"]:  # ranked: the first of each carrier is its best
        best_per_carrier.setdefault(offer["carrier"], offer)
    assert {c["carrier"]: c["premium"] for c in quote["carrier_quotes"]} == {
        carrier: offer["total"] for carrier, offer in best_per_carrier.items()
    }

    chosen = best_per_carrier["AXA"]
    details = {"make": "SEAT", "model": "Ibiza", "year": 2023, "plate": "5678 DFG"}
    converted = _ok(
        gw.post(
            f"/api/crm/quotes/{quote['id']}/convert",
            headers={**agent, "Idempotency-Key": str(uuid.uuid4())},
            json={"carrier": "AXA", "premium_frequency": "annual", "details": details},
        )
    )
    policy = _ok(gw.get(f"/api/crm/policies/{converted['policy_id']}", headers=agent))
    assert policy["premium_amount"] == chosen["total"]
    assert policy["metadata"]["pricing"]["tariff_version_id"] == chosen["tariff"]["tariff_version_id"]
    assert policy["metadata"]["pricing"]["cover_level"] == chosen["cover"]["code"]
