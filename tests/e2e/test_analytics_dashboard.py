"""The analytics dashboard in headless Chromium (Debian's), through the gateway: it loads offline
(nothing from a CDN), shows the figures the API gives, and updates live, over its WebSocket,
when a policy is created through the CRM."""

from __future__ import annotations

import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
from playwright.async_api import expect

from aintech_devtools.browser import chromium_executable, offline_page

from .conftest import ROOT, Fleet

SEED_PASSWORD = "Aintech-Demo-2026!"
CARD = '#cards [data-kpi="written_premium"] .value'


async def _written(gw: httpx.AsyncClient, auth: dict[str, str]) -> Decimal:
    resp = await gw.get("/api/analytics/dashboard/sales", headers=auth)
    assert resp.status_code == 200, resp.text
    return Decimal(resp.json()["kpis"]["groups"][0]["kpis"]["written_premium"]["value"])


def _ok(resp: httpx.Response, status: int = 200) -> Any:
    assert resp.status_code == status, f"{resp.request.url} -> {resp.status_code}: {resp.text}"
    return resp.json()


async def test_the_dashboard_shows_the_api_figures_and_updates_live(fleet: Fleet) -> None:
    async with httpx.AsyncClient(base_url=fleet.gateway, timeout=30) as gw:
        await _dashboard_flow(fleet, gw)


async def _dashboard_flow(fleet: Fleet, gw: httpx.AsyncClient) -> None:
    token = _ok(
        await gw.post("/api/auth/login", json={"email": "supervisor1@aintech.com", "password": SEED_PASSWORD})
    )["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    agent = {
        "Authorization": "Bearer "
        + _ok(
            await gw.post("/api/auth/login", json={"email": "agent1@aintech.com", "password": SEED_PASSWORD})
        )["access_token"]
    }
    # a customer first, so the policy below is the only change the page has to show
    customer = _ok(
        await gw.post(
            "/api/crm/customers",
            headers=agent,
            json={
                "first_name": "Dolores",
                "last_name": "Fuertes",
                "email": f"d-{uuid.uuid4().hex[:8]}@example.com",
            },
        ),
        201,
    )
    before = await _written(gw, auth)
    async with offline_page(chromium_executable(ROOT)) as seen:
        page = seen.page
        await page.goto(f"{fleet.gateway}/api/analytics/ui?type=sales#token={token}")
        await page.wait_for_selector(CARD)
        await expect(page.locator("#live")).to_have_class("on", timeout=30_000)
        shown = await page.get_attribute(CARD, "data-value")
        assert shown is not None and Decimal(shown) == await _written(gw, auth) == before
        start = date.today() - timedelta(days=3)
        _ok(
            await gw.post(
                "/api/crm/policies",
                headers=agent,
                json={
                    "customer_id": customer["id"],
                    "policy_type": "home",
                    "carrier": "Mapfre",
                    "coverage_start_date": str(start),
                    "coverage_end_date": str(start + timedelta(days=365)),
                    "premium_amount": "123.45",
                    "coverage_amount": "150000.00",
                    "details": {"property_address": "Calle Mayor 1, Madrid", "property_type": "apartment"},
                },
            ),
            201,
        )
        created = time.monotonic()
        expected = str(before + Decimal("123.45"))
        await expect(page.locator(CARD)).to_have_attribute("data-value", expected, timeout=30_000)
        took = time.monotonic() - created
        assert await _written(gw, auth) == Decimal(expected)
        print(f"dashboard updated {took:.2f} s after the CRM created the policy")
        # the tables and charts came from the same answer; nothing left loopback
        assert await page.locator("#chart-months svg").count() == 1
        assert await page.locator("#table-breakdown tbody tr").count() >= 1
        assert not seen.refused, seen.refused
        assert not [e for e in seen.console_errors if "favicon" not in e], seen.console_errors


def test_the_live_socket_refuses_a_missing_token(fleet: Fleet) -> None:
    resp = httpx.get(f"{fleet.gateway}/api/analytics/dashboard/sales")
    assert resp.status_code == 401
    page = httpx.get(f"{fleet.gateway}/api/analytics/ui")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    asset = httpx.get(f"{fleet.gateway}/api/analytics/ui/static/dashboard.js")
    assert asset.status_code == 200 and asset.headers["content-type"].startswith("text/javascript")
