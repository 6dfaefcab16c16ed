"""Cron schedules: validated at the edge, and queued by the worker's job when due."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from aintech_contracts.rbac import Role
from aintech_devtools.api import ServiceApi
from scraper.schedules import service as schedules
from scraper.schedules.service import next_fire
from scraper.settings import Settings

from .conftest import RISK

SCHEDULE = {
    "name": "Mapfre cada mañana",
    "cron": "0 7 * * 1-5",
    "kind": "prices",
    "carrier": "mapfre",
    "params": {"risk": RISK},
}


def test_next_fire_reads_the_expression_in_madrid_time_across_dst() -> None:
    winter = next_fire("0 7 * * *", "Europe/Madrid", datetime(2026, 1, 10, 12, 0, tzinfo=UTC))
    summer = next_fire("0 7 * * *", "Europe/Madrid", datetime(2026, 7, 10, 12, 0, tzinfo=UTC))
    assert winter == datetime(2026, 1, 11, 6, 0, tzinfo=UTC)
    assert summer == datetime(2026, 7, 11, 5, 0, tzinfo=UTC)


async def test_a_schedule_is_created_with_its_next_run(api: ServiceApi) -> None:
    boss = api.person(Role.supervisor)
    asked = datetime.now(UTC)  # read before: a run at 06:59:59 would see 07:00 pass during the request
    made = (await api.call("POST", "/schedules", as_=boss, json=SCHEDULE, expect=201)).json()
    assert made["enabled"] and made["timezone"] == "Europe/Madrid"
    assert datetime.fromisoformat(made["next_run_at"]) > asked
    listed = (await api.call("GET", "/schedules", as_=boss, expect=200)).json()
    assert made["id"] in [s["id"] for s in listed["items"]]
    off = (await api.call("POST", f"/schedules/{made['id']}/disable", as_=boss, expect=200)).json()
    assert off["enabled"] is False
    await api.call("DELETE", f"/schedules/{made['id']}", as_=boss, expect=204)
    await api.call("GET", f"/schedules/{made['id']}", as_=boss, expect=404)


async def test_a_schedule_that_is_not_cron_is_refused(api: ServiceApi) -> None:
    boss = api.person(Role.supervisor)
    for cron in ("every morning", "61 7 * * *", "* * * * * *", "0 7 * * 1-5\x00"):
        response = await api.call("POST", "/schedules", as_=boss, json={**SCHEDULE, "cron": cron}, expect=422)
        assert "cron" in response.text
    await api.call("POST", "/schedules", as_=boss, json={**SCHEDULE, "timezone": "Mars/Olympus"}, expect=422)
    await api.call("POST", "/schedules", as_=boss, json={**SCHEDULE, "carrier": "nobody"}, expect=422)


async def test_a_due_schedule_queues_one_job_and_waits_while_it_is_active(api: ServiceApi) -> None:
    boss = api.person(Role.supervisor)
    made = (await api.call("POST", "/schedules", as_=boss, json=SCHEDULE, expect=201)).json()
    later = datetime.fromisoformat(made["next_run_at"]) + timedelta(seconds=1)
    async with api.app.state.db.transaction() as session:
        assert await schedules.queue_due(session, settings=Settings(), now=later) == 1
    job = await api.row(
        "SELECT id, status, carrier FROM scraper.jobs WHERE schedule_id = :s", s=uuid.UUID(made["id"])
    )
    assert job is not None and job["status"] == "queued" and job["carrier"] == "mapfre"
    # A week on, the job is still queued: the schedule does not pile up a second one.
    async with api.app.state.db.transaction() as session:
        assert await schedules.queue_due(session, settings=Settings(), now=later + timedelta(days=7)) == 0
    row = await api.row(
        "SELECT last_job_id, next_run_at FROM scraper.schedules WHERE id = :s", s=uuid.UUID(made["id"])
    )
    assert (
        row is not None and row["last_job_id"] == job["id"] and row["next_run_at"] > later + timedelta(days=7)
    )


async def test_numbers_and_switches_are_json_numbers_and_booleans_not_coerced(api: ServiceApi) -> None:
    """Found by the merged contract run: `"enabled": 0` and `"priority": false` were accepted
    (coerced to false and 0) where the document says boolean and integer."""
    boss = api.person(Role.supervisor)
    for wrong in ({"enabled": 0}, {"enabled": "yes"}, {"max_attempts": True}, {"max_attempts": "2"}):
        await api.call("POST", "/schedules", as_=boss, json={**SCHEDULE, **wrong}, expect=422)
    job = {k: SCHEDULE[k] for k in ("kind", "carrier", "params")}
    for wrong in ({"priority": False}, {"priority": "1"}, {"max_attempts": True}):
        await api.call("POST", "/jobs", as_=boss, json={**job, **wrong}, expect=422)
    limits = {"max_concurrent": True, "min_interval_ms": 1500}
    await api.call("PUT", "/carriers/mapfre/limits", as_=api.person(Role.admin), json=limits, expect=422)
    made = await api.call("POST", "/schedules", as_=boss, json={**SCHEDULE, "enabled": False}, expect=201)
    assert made.json()["enabled"] is False
    # JSON Schema's integers include 2.0 (no fractional part): the contract run sent one.
    queued = await api.call(
        "POST", "/jobs", as_=boss, json={**job, "priority": 5.0, "max_attempts": 2}, expect=201
    )
    assert queued.json()["priority"] == 5
    await api.call("POST", "/jobs", as_=boss, json={**job, "priority": 5.5}, expect=422)
    admin = api.person(Role.admin)
    integral: dict[str, float] = {"max_concurrent": 2.0, "min_interval_ms": 1500}
    assert (
        await api.call("PUT", "/carriers/mapfre/limits", as_=admin, json=integral, expect=200)
    ).json() == {
        "max_concurrent": 2,
        "min_interval_ms": 1500,
    }


async def test_a_carrier_in_a_path_is_a_slug_as_the_document_says(api: ServiceApi) -> None:
    """Found by the merged contract run: a carrier id with a control character was schema-valid,
    and the gateway's 400 for it was undocumented; the document now states the slug."""
    admin = api.person(Role.admin)
    document = api.app.openapi()
    for path in ("/carriers/{carrier}/account", "/carriers/{carrier}/limits"):
        for operation in document["paths"][path].values():
            (carrier,) = [p for p in operation["parameters"] if p["name"] == "carrier"]
            assert carrier["schema"]["pattern"] == "^[a-z][a-z0-9_]{1,39}$"
    limits = {"max_concurrent": 2, "min_interval_ms": 1500}
    await api.call("PUT", "/carriers/Mapfre-1/limits", as_=admin, json=limits, expect=422)
    await api.call("GET", "/carriers/MAPFRE/account", as_=admin, expect=422)
