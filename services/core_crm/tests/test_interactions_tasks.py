"""Interactions (the timeline) and tasks (assign, mine, due today, overdue, complete, cancel)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from aintech_contracts.rbac import Role

from .conftest import Api


async def test_timeline_is_newest_first_across_channels(api: Api) -> None:
    customer = await api.customer()
    base = datetime(2026, 5, 1, 10, tzinfo=UTC)
    for offset, kind in enumerate(["call", "email", "whatsapp", "meeting"]):
        await api.call(
            "POST",
            "/interactions",
            json={
                "customer_id": customer["id"],
                "type": kind,
                "occurred_at": (base + timedelta(hours=offset)).isoformat(),
            },
            expect=201,
        )
    page = (
        await api.call("GET", f"/customers/{customer['id']}/timeline", params={"limit": 3}, expect=200)
    ).json()
    assert [i["type"] for i in page["items"]] == ["meeting", "whatsapp", "email"]
    rest = (
        await api.call(
            "GET", f"/customers/{customer['id']}/timeline", params={"cursor": page["next_cursor"]}, expect=200
        )
    ).json()
    assert [i["type"] for i in rest["items"]] == ["call"] and rest["next_cursor"] is None
    only_calls = (
        await api.call("GET", f"/customers/{customer['id']}/timeline", params={"type": "call"}, expect=200)
    ).json()
    assert [i["type"] for i in only_calls["items"]] == ["call"]
    events = await api.events("interaction.created", key=customer["id"])
    assert len(events) == 4 and events[0]["data"]["source"] == "crm"


async def test_references_must_belong_to_the_customer(api: Api) -> None:
    customer = await api.customer()
    other = await api.customer()
    foreign_policy = await api.policy(other["id"])
    response = await api.call(
        "POST",
        "/interactions",
        json={"customer_id": customer["id"], "type": "call", "policy_id": foreign_policy["id"]},
        expect=422,
    )
    assert response.json()["errors"][0]["field"] == "policy_id"
    await api.call("POST", "/interactions", json={"customer_id": customer["id"], "type": "fax"}, expect=422)
    await api.call(
        "POST", "/interactions", json={"customer_id": str(uuid.uuid4()), "type": "call"}, expect=422
    )


async def test_customers_read_only_their_timeline(api: Api) -> None:
    mine = await api.customer()
    other = await api.customer()
    me = await api.customer_login(mine["id"])
    theirs = (
        await api.call("POST", "/interactions", json={"customer_id": other["id"], "type": "sms"}, expect=201)
    ).json()
    await api.call("GET", f"/customers/{other['id']}/timeline", headers=me, expect=404)
    await api.call("GET", f"/interactions/{theirs['id']}", headers=me, expect=404)
    await api.call("GET", f"/customers/{mine['id']}/timeline", headers=me, expect=200)
    await api.call(
        "POST", "/interactions", json={"customer_id": mine["id"], "type": "sms"}, headers=me, expect=403
    )


async def test_task_lifecycle_and_views(api: Api) -> None:
    customer = await api.customer()
    me = uuid.UUID(api.agent_id)
    now = datetime.now(UTC)
    overdue = (
        await api.call(
            "POST",
            "/tasks",
            json={
                "title": "Llamar",
                "customer_id": customer["id"],
                "assigned_to": str(me),
                "due_date": (now - timedelta(hours=30)).isoformat(),
            },
            expect=201,
        )
    ).json()
    later = (
        await api.call(
            "POST",
            "/tasks",
            json={
                "title": "Revisar",
                "assigned_to": str(me),
                "due_date": (now + timedelta(days=3)).isoformat(),
            },
            expect=201,
        )
    ).json()
    someone_else = (
        await api.call("POST", "/tasks", json={"title": "Otro", "assigned_to": str(uuid.uuid4())}, expect=201)
    ).json()
    mine = (await api.call("GET", "/tasks/mine", expect=200)).json()
    assert {t["id"] for t in mine["items"]} == {overdue["id"], later["id"]}
    late = (await api.call("GET", "/tasks/overdue", params={"mine": "true"}, expect=200)).json()
    assert [t["id"] for t in late] == [overdue["id"]]
    await api.call(
        "PATCH", f"/tasks/{later['id']}", json={"status": "in_progress", "priority": "urgent"}, expect=200
    )
    await api.call("PATCH", f"/tasks/{later['id']}", json={"status": "completed"}, expect=422)
    done = (await api.call("POST", f"/tasks/{overdue['id']}/complete", expect=200)).json()
    assert done["status"] == "completed" and done["completed_by"] == str(me)
    await api.call("POST", f"/tasks/{overdue['id']}/complete", expect=409)
    await api.call("POST", f"/tasks/{overdue['id']}/cancel", expect=409)
    await api.call("POST", f"/tasks/{someone_else['id']}/assign", json={"assigned_to": str(me)}, expect=200)
    cancelled = (
        await api.call(
            "POST", f"/tasks/{someone_else['id']}/cancel", json={"reason": "Duplicada"}, expect=200
        )
    ).json()
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "Duplicada"
    assert await api.events("task.created", key=overdue["id"])
    [completed] = await api.events("task.completed", key=overdue["id"])
    assert completed["data"]["completed_by"] == str(me)
    await api.call("GET", f"/tasks/{uuid.uuid4()}", expect=404)


async def test_due_today_uses_spanish_days(api: Api) -> None:
    from core_crm.tasks.service import local_day_bounds

    start, end = local_day_bounds()
    inside = (
        await api.call(
            "POST",
            "/tasks",
            json={"title": "Hoy", "due_date": (start + timedelta(minutes=1)).isoformat()},
            expect=201,
        )
    ).json()
    outside = (
        await api.call(
            "POST",
            "/tasks",
            json={"title": "Mañana", "due_date": (end + timedelta(minutes=1)).isoformat()},
            expect=201,
        )
    ).json()
    today_ids = [
        t["id"] for t in (await api.call("GET", "/tasks/due-today", params={"limit": 500}, expect=200)).json()
    ]
    assert inside["id"] in today_ids and outside["id"] not in today_ids


async def test_tasks_are_staff_only(api: Api) -> None:
    customer = await api.customer()
    me = await api.customer_login(customer["id"])
    await api.call("GET", "/tasks", headers=me, expect=403)
    await api.call("POST", "/tasks", json={"title": "x"}, headers=api.auth(Role.customer), expect=403)
