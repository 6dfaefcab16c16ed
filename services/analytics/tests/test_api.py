"""Bad input is a clear problem+json, never a 500, and never reaches SQL as text."""

from __future__ import annotations

from datetime import date

import pytest

from aintech_contracts.rbac import Role
from analytics.ingest.writer import write_events
from analytics.store.port import Store

from .conftest import Api
from .history import History, at


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("/kpis?start=2026-03-01&end=2026-01-01", "reversed"),
        ("/kpis?start=2010-01-01&end=2026-01-01", "at most"),
        ("/kpis?by=agent_id", None),
        ("/dashboard/marketing", None),
        ("/kpis?line=boats", None),
        ("/kpis?start=1900-01-01&end=1900-02-01", "between"),
    ],
)
async def test_bad_parameters_are_problem_json(store_api: Api, url: str, detail: str | None) -> None:
    response = await store_api.call("GET", url, expect=422)
    assert response.headers["content-type"].startswith("application/problem+json")
    if detail:
        assert detail in response.json()["detail"]


async def test_an_unknown_filter_value_is_named_in_a_422(store: Store, store_api: Api) -> None:
    h = History()
    customer = h.customer(province="Madrid", when=at(date(2026, 1, 1)))
    h.policy(customer, start=date(2026, 1, 2), premium="300.00", carrier="Mapfre")
    await write_events(store, h.events)
    await store_api.call("GET", "/kpis?carrier=Mapfre&province=Madrid", expect=200)
    response = await store_api.call("GET", "/kpis?carrier=Zurich", expect=422)
    assert "Zurich" in response.json()["detail"]


async def test_sql_in_a_filter_is_only_a_value(store: Store, store_api: Api) -> None:
    """A filter holding SQL is compared as text (a parameter): unknown, so 422; the tables survive."""
    h = History()
    customer = h.customer(province="Madrid", when=at(date(2026, 1, 1)))
    h.policy(customer, start=date(2026, 1, 2), premium="300.00", carrier="Mapfre")
    await write_events(store, h.events)
    for hostile in ("x' OR 1=1 --", "Mapfre'; DROP TABLE $db.policy_terms; --", "{carrier:String}"):
        response = await store_api.call("GET", "/kpis", params={"carrier": hostile}, expect=422)
        assert "Unknown carrier" in response.json()["detail"]
    rows = await store.query("SELECT count() AS n FROM $db.policy_terms")
    assert rows[0]["n"] == 1


async def test_customers_and_agents_may_not_read_analytics(store_api: Api) -> None:
    for role in (Role.customer, Role.agent):
        response = await store_api.call("GET", "/kpis", headers=store_api.auth(role), expect=403)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_an_empty_period_answers_zeros_not_an_error(store_api: Api) -> None:
    body = (
        await store_api.call("GET", "/dashboard/financial?start=2030-01-01&end=2030-01-31", expect=200)
    ).json()
    kpis = body["kpis"]["groups"][0]["kpis"]
    assert kpis["earned_premium"]["value"] == "0.00"
    assert kpis["loss_ratio"]["value"] is None


async def test_the_dashboard_page_and_its_assets_are_served_from_the_package(store_api: Api) -> None:
    page = await store_api.client.get("/ui")
    assert page.status_code == 200 and 'src="ui/static/dashboard.js"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "http" not in page.text.replace("http-equiv", ""), "the page names an outside address"
    script = await store_api.client.get("/ui/static/dashboard.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    missing = await store_api.client.get("/ui/static/chart.js")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
