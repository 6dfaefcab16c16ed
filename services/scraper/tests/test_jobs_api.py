"""Jobs through the HTTP API: what an operator of the scraper would notice."""

from __future__ import annotations

import uuid

from aintech_contracts.rbac import Role
from aintech_devtools.api import ServiceApi

from .conftest import RISK


def prices(carrier: str = "mapfre", **extra: object) -> dict[str, object]:
    return {"kind": "prices", "carrier": carrier, "params": {"risk": RISK}, **extra}


async def test_a_supervisor_queues_a_price_job_and_reads_it_back(api: ServiceApi) -> None:
    boss = api.person(Role.supervisor)
    job = (await api.call("POST", "/jobs", as_=boss, json=prices(), expect=201)).json()
    assert job["status"] == "queued" and job["attempts"] == 0 and job["max_attempts"] == 4
    assert job["params"]["risk"]["plate"] == "1234BCD" and job["adapter_version"]
    assert job["requested_by"] == str(boss.user_id)
    read = (await api.call("GET", f"/jobs/{job['id']}", as_=boss, expect=200)).json()
    assert read["id"] == job["id"] and read["artifacts"] == []
    limits = await api.row("SELECT max_concurrent FROM scraper.carrier_limits WHERE carrier = 'mapfre'")
    assert limits == {"max_concurrent": 2}


async def test_jobs_are_listed_newest_first_with_filters_and_cursor(api: ServiceApi) -> None:
    boss = api.person(Role.supervisor)
    for carrier in ("mapfre", "axa", "mapfre"):
        await api.call("POST", "/jobs", as_=boss, json=prices(carrier), expect=201)
    first = (
        await api.call("GET", "/jobs", as_=boss, params={"carrier": "mapfre", "limit": 1}, expect=200)
    ).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    rest = await api.call(
        "GET",
        "/jobs",
        as_=boss,
        params={"carrier": "mapfre", "limit": 1, "cursor": first["next_cursor"]},
        expect=200,
    )
    assert rest.json()["next_cursor"] is None
    assert {j["carrier"] for j in [*first["items"], *rest.json()["items"]]} == {"mapfre"}
    axa = (
        await api.call("GET", "/jobs", as_=boss, params={"carrier": "axa", "status": "queued"}, expect=200)
    ).json()
    assert [j["carrier"] for j in axa["items"]] == ["axa"]


async def test_cancel_then_retry_puts_the_job_back_in_the_queue(api: ServiceApi) -> None:
    boss = api.person(Role.supervisor)
    job = (await api.call("POST", "/jobs", as_=boss, json=prices(), expect=201)).json()
    await api.call("POST", f"/jobs/{job['id']}/retry", as_=boss, expect=409)
    cancelled = (await api.call("POST", f"/jobs/{job['id']}/cancel", as_=boss, expect=200)).json()
    assert cancelled["status"] == "cancelled" and cancelled["finished_at"]
    await api.call("POST", f"/jobs/{job['id']}/cancel", as_=boss, expect=409)
    again = (await api.call("POST", f"/jobs/{job['id']}/retry", as_=boss, expect=200)).json()
    assert again["status"] == "queued" and again["attempts"] == 0 and again["finished_at"] is None


async def test_carriers_list_their_adapter_and_admins_set_limits(api: ServiceApi) -> None:
    boss, admin = api.person(Role.supervisor), api.person(Role.admin)
    carriers = (await api.call("GET", "/carriers", as_=boss, expect=200)).json()
    assert {c["carrier"] for c in carriers} >= {"mapfre", "axa", "allianz"}
    axa = next(c for c in carriers if c["carrier"] == "axa")
    assert axa["engine"] == "browser" and "prices" in axa["kinds"] and axa["adapter_version"]
    body = {"max_concurrent": 1, "min_interval_ms": 5000}
    await api.call("PUT", "/carriers/axa/limits", as_=boss, json=body, expect=403)
    assert (await api.call("PUT", "/carriers/axa/limits", as_=admin, json=body, expect=200)).json() == body
    await api.call("PUT", "/carriers/nobody/limits", as_=admin, json=body, expect=404)
    stored = await api.row(
        "SELECT max_concurrent, min_interval_ms FROM scraper.carrier_limits WHERE carrier = 'axa'"
    )
    assert stored == body


async def test_agents_and_anonymous_callers_are_refused(api: ServiceApi) -> None:
    await api.call("POST", "/jobs", json=prices(), expect=401)
    await api.call("POST", "/jobs", as_=api.person(Role.agent), json=prices(), expect=403)
    await api.call("GET", "/results", as_=api.person(Role.customer), expect=403)


async def test_bad_input_is_a_problem_naming_it(api: ServiceApi) -> None:
    boss = api.person(Role.supervisor)
    unknown = await api.call("POST", "/jobs", as_=boss, json=prices("zurich_nope"), expect=422)
    assert "Unknown carrier" in unknown.json()["detail"]
    bad_kind = {"kind": "shopping", "carrier": "mapfre", "params": {}}
    await api.call("POST", "/jobs", as_=boss, json=bad_kind, expect=422)
    no_risk = {"kind": "prices", "carrier": "mapfre", "params": {}}
    assert "risk" in (await api.call("POST", "/jobs", as_=boss, json=no_risk, expect=422)).text
    bad_plate = prices(params={"risk": {**RISK, "plate": "ABC"}})
    await api.call("POST", "/jobs", as_=boss, json=bad_plate, expect=422)
    smuggled = {
        "kind": "policy_document",
        "carrier": "mapfre",
        "params": {"policy_number": "P1", "url": "http://169.254.169.254/"},
    }
    await api.call("POST", "/jobs", as_=boss, json=smuggled, expect=422)
    await api.call("POST", "/jobs", as_=boss, json=prices(max_attempts=0), expect=422)
    await api.call("GET", f"/jobs/{uuid.uuid4()}", as_=boss, expect=404)
    await api.call("GET", "/jobs", as_=boss, params={"cursor": "bm90LW91cnM="}, expect=422)
    await api.call("GET", "/results", as_=boss, params={"since": "2026-01-01T00:00:00"}, expect=422)
