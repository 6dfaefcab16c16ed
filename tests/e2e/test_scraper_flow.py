"""The scraper through the gateway: an admin points Mapfre's account at the demo portal, an agent
compares carriers for a risk, a supervisor starts a price job for that comparison, and the prices
Mapfre's portal showed arrive in the comparison beside Mapfre's tariff price."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx

from scraper.demo.portal import PASSWORD, PRODUCTS, USERNAME, premium

from .conftest import Fleet

SEED_PASSWORD = "Aintech-Demo-2026!"
RISK = {"plate": "4821KLM", "postal_code": "28013", "driver_birth_date": "1990-05-17"}
QUOTE_RISK = {
    "line": "auto",
    "postal_code": "28013",
    "driver_age": 35,
    "years_licensed": 12,
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


def _eventually(what: str, probe: Callable[[], Any], within: float = 120) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if found := probe():
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_price_job_against_the_demo_portal_lands_in_a_quote_comparison(
    gw: httpx.Client, fleet: Fleet
) -> None:
    admin, boss, agent = (
        _token(gw, e) for e in ("admin@aintech.com", "supervisor1@aintech.com", "agent1@aintech.com")
    )
    portal = f"http://127.0.0.1:{8006 + fleet.port_offset}/demo-portal/mapfre"
    account = {"base_url": portal, "username": USERNAME, "password": PASSWORD}
    saved = _ok(gw.put("/api/scraper/carriers/mapfre/account", json=account, headers=admin))
    assert saved["credentials_set"] is True and PASSWORD not in str(saved)
    _ok(
        gw.put(
            "/api/scraper/carriers/mapfre/limits",
            json={"max_concurrent": 2, "min_interval_ms": 0},
            headers=admin,
        )
    )
    # A host off Mapfre's allow-list is refused, even for an admin.
    off_list = {**account, "base_url": "http://169.254.169.254/latest"}
    _ok(gw.put("/api/scraper/carriers/mapfre/account", json=off_list, headers=admin), 422)

    comparison = _ok(gw.post("/api/quotes/compare", json={"risk": QUOTE_RISK}, headers=agent), 201)
    job = _ok(
        gw.post(
            "/api/scraper/jobs",
            json={
                "kind": "prices",
                "carrier": "mapfre",
                "params": {"risk": RISK, "quote_id": comparison["id"]},
            },
            headers=boss,
        ),
        201,
    )
    _ok(gw.post("/api/scraper/jobs", json={"kind": "prices", "carrier": "mapfre"}, headers=agent), 403)

    def finished() -> Any:
        found = _ok(gw.get(f"/api/scraper/jobs/{job['id']}", headers=boss))
        return found if found["status"] in ("succeeded", "failed") else None

    done = _eventually("the price job", finished)
    assert done["status"] == "succeeded", done
    expected = {
        name: premium("mapfre", f, RISK["postal_code"], RISK["driver_birth_date"])
        for name, f in PRODUCTS["mapfre"]
    }
    results = _ok(gw.get("/api/scraper/results", params={"job_id": job["id"]}, headers=boss))["items"]
    assert {r["product"]: Decimal(r["premium"]) for r in results} == expected

    def observed() -> Any:
        stored = _ok(gw.get(f"/api/quotes/{comparison['id']}", headers=agent))
        return stored["observed"] if len(stored["observed"]) == len(expected) else None

    seen = _eventually("the observed prices in the comparison", observed)
    mapfre_tariff = min(Decimal(o["total"]) for o in comparison["offers"] if o["carrier"] == "Mapfre")
    assert {o["product"]: Decimal(o["observed_premium"]) for o in seen} == expected
    assert all(o["carrier"] == "Mapfre" and o["match"] == "quote" for o in seen)
    assert all(Decimal(o["tariff_total"]) == mapfre_tariff and o["age_hours"] >= 0 for o in seen)
