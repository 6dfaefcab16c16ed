"""Policies: sale with type details, edits under If-Match, cancel, renew, coverage, expiring."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from core_crm.core.base import today
from core_crm.core.runtime import build_runtime
from core_crm.policies import service as policies

from .conftest import Api, crm_settings


async def test_sale_validates_type_details_and_records_the_first_term(api: Api) -> None:
    customer = await api.customer()
    auto = await api.policy(
        customer["id"],
        policy_type="auto",
        premium_amount="48.50",
        premium_frequency="monthly",
        details={"make": "SEAT", "model": "León", "year": 2021, "plate": "1234-bcd"},
    )
    assert auto["policy_number"].startswith("POL-")
    assert auto["details"]["plate"] == "1234BCD"
    assert auto["annual_premium"] == "582.00"
    terms = (await api.call("GET", f"/policies/{auto['id']}/terms", expect=200)).json()
    assert [t["term_number"] for t in terms] == [1]
    bad = await api.call(
        "POST",
        "/policies",
        json={
            "customer_id": customer["id"],
            "policy_type": "auto",
            "carrier": "AXA",
            "coverage_start_date": "2026-01-01",
            "coverage_end_date": "2025-01-01",
            "premium_amount": "-1",
            "details": {"make": "SEAT"},
        },
        expect=422,
    )
    assert {"premium_amount"} <= {e["field"] for e in bad.json()["errors"]}
    await api.call(
        "POST",
        "/policies",
        json={
            **{k: auto[k] for k in ("policy_type", "carrier")},
            "customer_id": str(uuid.uuid4()),
            "coverage_start_date": "2026-01-01",
            "coverage_end_date": "2027-01-01",
            "premium_amount": "10",
            "details": {"make": "SEAT", "model": "Ibiza", "year": 2020, "plate": "1111BBB"},
        },
        expect=422,
    )
    [event] = await api.events("policy.created", key=auto["id"])
    assert (
        event["data"]["premium_amount"] == "48.50" and event["data"]["policy_number"] == auto["policy_number"]
    )


async def test_number_is_unique_and_searchable(api: Api) -> None:
    customer = await api.customer()
    number = f"MAP-{uuid.uuid4().hex[:8]}"
    created = await api.policy(customer["id"], policy_number=number)
    await api.call(
        "POST",
        "/policies",
        json={
            **{k: created[k] for k in ("customer_id", "policy_type", "carrier", "details")},
            "policy_number": number,
            "coverage_start_date": "2026-01-01",
            "coverage_end_date": "2027-01-01",
            "premium_amount": "10",
        },
        expect=409,
    )
    assert (await api.call("GET", f"/policies/by-number/{number}", expect=200)).json()["id"] == created["id"]
    found = (
        await api.call(
            "GET", "/policies", params={"q": number[:6], "customer_id": customer["id"]}, expect=200
        )
    ).json()
    assert [p["id"] for p in found["items"]] == [created["id"]]


async def test_edit_needs_etag_and_cancelled_policies_are_frozen(api: Api) -> None:
    customer = await api.customer()
    policy = await api.policy(customer["id"])
    url = f"/policies/{policy['id']}"
    etag = (await api.call("GET", url, expect=200)).headers["etag"]
    await api.call("PATCH", url, json={"coverage_amount": "1.00"}, expect=428)
    await api.call(
        "PATCH",
        url,
        json={"details": {"property_type": "castle"}},
        headers={**api.agent, "If-Match": etag},
        expect=422,
    )
    await api.call(
        "PATCH",
        url,
        json={"coverage_amount": "180000.00"},
        headers={**api.agent, "If-Match": etag},
        expect=200,
    )
    await api.call("PATCH", url, json={"notes": "x"}, headers={**api.agent, "If-Match": etag}, expect=412)
    cancelled = await api.call("POST", f"{url}/cancel", json={"reason": "Vivienda vendida"}, expect=200)
    assert (
        cancelled.json()["status"] == "cancelled"
        and cancelled.json()["cancellation_reason"] == "Vivienda vendida"
    )
    again = await api.call("POST", f"{url}/cancel", json={"reason": "again"}, expect=409)
    assert again.headers["content-type"] == "application/problem+json"
    await api.call(
        "PATCH",
        url,
        json={"notes": "x"},
        headers={**api.agent, "If-Match": cancelled.headers["etag"]},
        expect=409,
    )
    await api.call("POST", f"{url}/renew", json={"premium_amount": "400"}, expect=409)
    [event] = await api.events("policy.cancelled", key=policy["id"])
    assert event["data"]["reason"] == "Vivienda vendida"


async def test_renewal_adds_a_term_and_keeps_the_old_one(api: Api) -> None:
    customer = await api.customer()
    policy = await api.policy(
        customer["id"], coverage_start_date="2025-06-01", coverage_end_date="2026-06-01"
    )
    renewed = (
        await api.call(
            "POST", f"/policies/{policy['id']}/renew", json={"premium_amount": "455.10"}, expect=200
        )
    ).json()
    assert (renewed["coverage_start_date"], renewed["coverage_end_date"]) == ("2026-06-01", "2027-06-01")
    assert renewed["term_number"] == 2 and renewed["premium_amount"] == "455.10"
    terms = (await api.call("GET", f"/policies/{policy['id']}/terms", expect=200)).json()
    assert [(t["term_number"], t["premium_amount"]) for t in terms] == [(1, "420.00"), (2, "455.10")]
    [event] = await api.events("policy.renewed", key=policy["id"])
    assert (
        event["data"]["previous_end_date"] == "2026-06-01"
        and event["data"]["previous_premium_amount"] == "420.00"
    )
    covered = (
        await api.call("GET", f"/policies/{policy['id']}/coverage", params={"date": "2025-07-01"}, expect=200)
    ).json()
    assert covered["covered"] and covered["term"]["term_number"] == 1
    later = (
        await api.call("GET", f"/policies/{policy['id']}/coverage", params={"date": "2026-12-24"}, expect=200)
    ).json()
    assert later["covered"] and later["term"]["term_number"] == 2
    before = (
        await api.call("GET", f"/policies/{policy['id']}/coverage", params={"date": "2025-05-31"}, expect=200)
    ).json()
    assert not before["covered"]


async def test_cancellation_ends_coverage_from_that_day(api: Api) -> None:
    customer = await api.customer()
    start = today() - timedelta(days=30)
    policy = await api.policy(
        customer["id"], coverage_start_date=str(start), coverage_end_date=str(start + timedelta(days=365))
    )
    cancelled = (
        await api.call("POST", f"/policies/{policy['id']}/cancel", json={"reason": "Impago"}, expect=200)
    ).json()
    # The day the service cancelled on (read back, not the test's own clock: the suite may run across
    # midnight, and the machine's time zone need not be UTC).
    day = datetime.fromisoformat(cancelled["cancelled_at"]).astimezone(UTC).date()
    yesterday = (
        await api.call(
            "GET",
            f"/policies/{policy['id']}/coverage",
            params={"date": str(day - timedelta(days=1))},
            expect=200,
        )
    ).json()
    today_ = (
        await api.call("GET", f"/policies/{policy['id']}/coverage", params={"date": str(day)}, expect=200)
    ).json()
    assert yesterday["covered"] and not today_["covered"]


async def test_expiring_job_announces_each_term_once(api: Api, app: object) -> None:
    customer = await api.customer()
    now = today()  # the job runs "on" this day below, whatever the clock says by then
    soon = now + timedelta(days=10)
    policy = await api.policy(
        customer["id"], coverage_start_date=str(soon - timedelta(days=365)), coverage_end_date=str(soon)
    )
    far = await api.policy(
        customer["id"],
        coverage_start_date=str(now),
        coverage_end_date=str(now + timedelta(days=300)),
    )
    listed = (
        await api.call("GET", "/policies/expiring", params={"days": 15, "limit": 500}, expect=200)
    ).json()
    assert policy["id"] in [p["id"] for p in listed] and far["id"] not in [p["id"] for p in listed]
    rt = build_runtime(crm_settings())
    db = app.state.db  # type: ignore[attr-defined]
    for _ in range(2):
        async with db.transaction() as session:
            await policies.announce_expiring(session, rt=rt, on=now)
    events = await api.events("policy.expiring_soon", key=policy["id"])
    assert len(events) == 1 and events[0]["data"]["days_left"] == 10
    assert not await api.events("policy.expiring_soon", key=far["id"])
    await api.call("POST", f"/policies/{policy['id']}/renew", json={"premium_amount": "430"}, expect=200)
    await api.conn.execute(
        text("UPDATE crm.policies SET coverage_end_date = :d WHERE id = :id"),
        {"d": soon + timedelta(days=5), "id": policy["id"]},
    )
    async with db.transaction() as session:
        await policies.announce_expiring(session, rt=rt, on=now)
    assert len(await api.events("policy.expiring_soon", key=policy["id"])) == 2, (
        "the new term is announced too"
    )


async def test_customers_see_only_their_policies(api: Api) -> None:
    mine = await api.customer()
    other = await api.customer()
    my_policy = await api.policy(mine["id"])
    other_policy = await api.policy(other["id"])
    me = await api.customer_login(mine["id"])
    await api.call("GET", f"/policies/{my_policy['id']}", headers=me, expect=200)
    await api.call("GET", f"/policies/{other_policy['id']}", headers=me, expect=404)
    await api.call("GET", f"/policies/by-number/{other_policy['policy_number']}", headers=me, expect=404)
    await api.call("GET", f"/policies/{other_policy['id']}/terms", headers=me, expect=404)
    await api.call(
        "GET",
        f"/policies/{other_policy['id']}/coverage",
        params={"date": "2026-02-01"},
        headers=me,
        expect=404,
    )
    listed = (
        await api.call("GET", "/policies", params={"customer_id": other["id"]}, headers=me, expect=200)
    ).json()
    assert listed["items"] == []
    mine_listed = (await api.call("GET", "/policies", headers=me, expect=200)).json()
    assert [p["id"] for p in mine_listed["items"]] == [my_policy["id"]]
    await api.call(
        "POST", f"/policies/{my_policy['id']}/cancel", json={"reason": "x"}, headers=me, expect=403
    )
    await api.call("GET", "/policies/expiring", headers=me, expect=403)
