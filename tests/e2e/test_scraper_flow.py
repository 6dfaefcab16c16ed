"""The scraper through the gateway: an admin points Mapfre's account at the demo portal, an agent
compares carriers for a risk, a supervisor starts a price job for that comparison, and the prices
Mapfre's portal showed arrive in the comparison beside Mapfre's tariff price."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx

from scraper.demo.portal import PASSWORD, PRODUCTS, USERNAME, demo_portfolio, premium

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


def _proposals_of(gw: httpx.Client, headers: dict[str, str], job_id: str) -> list[dict[str, Any]]:
    """Every CRM policy proposal made from one scraper job (all pages)."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        page = _ok(gw.get("/api/crm/policy-proposals", params=params, headers=headers))
        found += [p for p in page["items"] if p["job_id"] == job_id]
        cursor = page["next_cursor"]
        if not cursor:
            return found


def test_a_portfolio_sync_through_the_gateway_becomes_crm_proposals_once(
    gw: httpx.Client, fleet: Fleet
) -> None:
    admin, boss, agent = (
        _token(gw, e) for e in ("admin@aintech.com", "supervisor1@aintech.com", "agent1@aintech.com")
    )
    portal = f"http://127.0.0.1:{8006 + fleet.port_offset}/demo-portal/mapfre"
    account = {"base_url": portal, "username": USERNAME, "password": PASSWORD}
    _ok(gw.put("/api/scraper/carriers/mapfre/account", json=account, headers=admin))
    _ok(
        gw.put(
            "/api/scraper/carriers/mapfre/limits",
            json={"max_concurrent": 2, "min_interval_ms": 0},
            headers=admin,
        )
    )
    listed = demo_portfolio()["mapfre"]
    # The CRM knows the first listed policy, with another premium and term; not the others.
    customer = _ok(
        gw.post(
            "/api/crm/customers",
            headers=agent,
            json={"first_name": "Lucía", "last_name": "Martín Gómez", "postal_code": "28013"},
        ),
        201,
    )
    start = date.today() - timedelta(days=5)

    def sell(number: str) -> dict[str, Any]:
        body = {
            "customer_id": customer["id"],
            "policy_type": "home",
            "carrier": "Mapfre",
            "policy_number": number,
            "coverage_start_date": str(start),
            "coverage_end_date": str(start + timedelta(days=365)),
            "premium_amount": "300.00",
            "coverage_amount": "150000.00",
            "details": {"property_address": "Calle Mayor 1, Madrid", "property_type": "apartment"},
        }
        return dict(_ok(gw.post("/api/crm/policies", json=body, headers=agent), 201))

    known = sell(listed[0]["number"])
    gone = sell(f"MAP-E2E-{uuid.uuid4().hex[:8].upper()}")  # with Mapfre in the CRM, not on the portal

    def sync() -> str:
        job = _ok(
            gw.post("/api/scraper/jobs", json={"kind": "portfolio_sync", "carrier": "mapfre"}, headers=boss),
            201,
        )

        def finished() -> Any:
            found = _ok(gw.get(f"/api/scraper/jobs/{job['id']}", headers=boss))
            return found if found["status"] in ("succeeded", "failed") else None

        done = _eventually("the portfolio sync", finished)
        assert done["status"] == "succeeded", done
        return str(job["id"])

    first = sync()
    results = _ok(gw.get("/api/scraper/results", params={"job_id": first, "limit": 100}, headers=boss))[
        "items"
    ]
    assert sorted(r["data"]["policy_number"] for r in results) == sorted(p["number"] for p in listed)
    assert {r["kind"] for r in results} == {"portfolio_policy"}

    def made_by_first() -> Any:
        found = _proposals_of(gw, boss, first)
        listed_ones = [p for p in found if p["kind"] in ("create", "reconcile")]
        missing = [p for p in found if p["kind"] == "missing" and p["policy_id"] == gone["id"]]
        return found if len(listed_ones) == len(listed) and missing else None

    proposals = _eventually("the proposals of the first sync", made_by_first)
    by_number = {p["policy_number"]: p for p in proposals if p["kind"] != "missing"}
    reconcile = by_number[known["policy_number"]]
    assert reconcile["kind"] == "reconcile" and reconcile["policy_id"] == known["id"]
    assert reconcile["source"] == "portfolio" and reconcile["status"] == "pending"
    changes = {f["field"]: (f["old"], f["new"]) for f in reconcile["fields"]}
    assert changes["premium_total"] == ("300.00", "380.50")
    assert changes["start_date"] == (str(start), "2026-03-01")
    assert {by_number[p["number"]]["kind"] for p in listed[1:]} == {"create"}
    # Nothing is applied without an agent.
    assert _ok(gw.get(f"/api/crm/policies/{known['id']}", headers=agent))["premium_amount"] == "300.00"

    # Another policy the CRM has with Mapfre that the portal does not list: the second sync reports
    # it, and (nothing else changed) proposes nothing else — not the listed ones, not `gone` again.
    unlisted = sell(f"MAP-E2E-{uuid.uuid4().hex[:8].upper()}")
    second = sync()

    def missing_reported() -> Any:
        found = _proposals_of(gw, boss, second)
        return found if any(p["policy_number"] == unlisted["policy_number"] for p in found) else None

    made = _eventually("the second sync's missing proposal", missing_reported)
    assert [(p["kind"], p["policy_id"]) for p in made] == [("missing", unlisted["id"])]
