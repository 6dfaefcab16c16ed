"""Change history: who changed which field, when, through which request or event; written in the
changing transaction; read with the record's own access rules; exported and redacted under GDPR."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.rbac import Role
from core_crm.consumers import consumer_specs
from core_crm.customers.models import Customer

from .conftest import DNIS, Api


async def _history(api: Api, path: str, **kwargs: Any) -> list[dict[str, Any]]:
    leaf = "changes" if path.startswith("/claims/") else "history"
    return list((await api.call("GET", f"{path}/{leaf}", expect=200, **kwargs)).json()["items"])


async def test_an_edit_records_who_when_which_request_and_each_fields_old_and_new_value(api: Api) -> None:
    customer = await api.customer(mobile="600111222")
    url = f"/customers/{customer['id']}"
    response = await api.call(
        "PATCH",
        url,
        json={"mobile": "699111222", "city": "Madrid"},
        headers={**api.agent, "If-Match": f'"{customer["version"]}"', "X-Request-ID": "req-trail-0001"},
        expect=200,
    )
    assert response.json()["mobile"] == "+34699111222"
    updated, created = await _history(api, url)
    assert updated["operation"] == "updated" and created["operation"] == "created"
    assert updated["changes"] == {
        "mobile": {"old": "+34600111222", "new": "+34699111222"},
        "city": {"old": None, "new": "Madrid"},
    }
    assert updated["actor"] == {"type": "user", "id": api.agent_id, "role": "agent"}
    assert updated["request_id"] == "req-trail-0001" and updated["event_id"] is None
    assert created["changes"]["email"] == {"old": None, "new": customer["email"]}
    assert "version" not in updated["changes"] and "updated_at" not in updated["changes"]
    assert updated["changed_at"] >= created["changed_at"]


async def test_history_is_newest_first_and_cursor_paged(api: Api) -> None:
    customer = await api.customer()
    url = f"/customers/{customer['id']}"
    version = customer["version"]
    for city in ("Madrid", "Toledo", "Cuenca"):
        body = (
            await api.call(
                "PATCH",
                url,
                json={"city": city},
                headers={**api.agent, "If-Match": f'"{version}"'},
                expect=200,
            )
        ).json()
        version = body["version"]
    first = (await api.call("GET", f"{url}/history", params={"limit": 2}, expect=200)).json()
    assert [c["changes"]["city"]["new"] for c in first["items"]] == ["Cuenca", "Toledo"]
    second = (
        await api.call(
            "GET", f"{url}/history", params={"limit": 2, "cursor": first["next_cursor"]}, expect=200
        )
    ).json()
    assert [c["changes"].get("city", {}).get("new") for c in second["items"]] == ["Madrid", None]
    assert second["items"][1]["operation"] == "created" and second["next_cursor"] is None
    bad = await api.call("GET", f"{url}/history", params={"cursor": "bm90LW91cnM="}, expect=422)
    assert bad.headers["content-type"].startswith("application/problem+json")


async def test_policies_claims_quotes_and_tasks_have_their_history(api: Api) -> None:
    customer = await api.customer()
    policy = await api.policy(customer["id"])
    await api.call(
        "PATCH",
        f"/policies/{policy['id']}",
        json={"carrier": "AXA"},
        headers={**api.agent, "If-Match": f'"{policy["version"]}"'},
        expect=200,
    )
    [changed, _] = await _history(api, f"/policies/{policy['id']}")
    assert changed["changes"] == {"carrier": {"old": "Mapfre", "new": "AXA"}}
    claim = (
        await api.call(
            "POST",
            "/claims",
            json={
                "policy_id": policy["id"],
                "claim_type": "theft",
                "description": "Robo",
                "incident_date": "2026-03-01T10:00:00Z",
            },
            expect=201,
        )
    ).json()
    reported = (await _history(api, f"/claims/{claim['id']}"))[-1]
    assert reported["operation"] == "created"
    assert reported["changes"]["status"] == {"old": None, "new": "reported"}
    transitions = (await api.call("GET", f"/claims/{claim['id']}/history", expect=200)).json()
    assert transitions[0]["to_status"] == "reported"  # the claim's own transition list is unchanged
    task = (
        await api.call("POST", "/tasks", json={"title": "Llamar", "customer_id": customer["id"]}, expect=201)
    ).json()
    await api.call("POST", f"/tasks/{task['id']}/complete", json={}, expect=200)
    done, _ = await _history(api, f"/tasks/{task['id']}")
    assert done["changes"]["status"] == {"old": "pending", "new": "completed"}
    await api.call("GET", f"/quotes/{uuid.uuid4()}/history", expect=404)


async def test_a_customer_reads_only_their_own_records_history(api: Api) -> None:
    mine = await api.customer()
    other = await api.customer()
    policy = await api.policy(mine["id"])
    other_policy = await api.policy(other["id"])
    me = await api.customer_login(mine["id"])
    assert await _history(api, f"/customers/{mine['id']}", headers=me)
    assert await _history(api, f"/policies/{policy['id']}", headers=me)
    for path in (f"/customers/{other['id']}", f"/policies/{other_policy['id']}"):
        refused = await api.call("GET", f"{path}/history", headers=me, expect=404)
        assert refused.headers["content-type"].startswith("application/problem+json")
    await api.call("GET", f"/tasks/{uuid.uuid4()}/history", headers=me, expect=403)
    owner_change = next(
        c for c in await _history(api, f"/customers/{mine['id']}", headers=me) if c["operation"] == "created"
    )
    assert "owner_id" not in owner_change["changes"]  # the brokerage's internal fields stay internal


async def test_a_change_made_by_an_automation_names_the_event(api: Api, app: FastAPI) -> None:
    customer = await api.customer()
    [created] = await api.events("customer.created", key=customer["id"])
    event = CloudEvent.model_validate(created)
    spec = next(s for s in consumer_specs(app.state.runtime) if s.name == "core-crm.automation")
    async with AsyncSession(bind=api.conn, join_transaction_mode="create_savepoint") as session:
        await spec.handlers["customer.created"](session, event)
        await session.commit()
    task_id = await api.conn.scalar(
        text("SELECT id FROM crm.tasks WHERE customer_id = :c"), {"c": customer["id"]}
    )
    [welcome] = await _history(api, f"/tasks/{task_id}")
    assert welcome["actor"] == {"type": "system"}
    assert (welcome["event_id"], welcome["event_type"]) == (event.id, "customer.created")
    assert welcome["request_id"] is None


async def test_gdpr_export_holds_the_history_and_erasure_redacts_it_keeping_the_facts(api: Api) -> None:
    customer = await api.customer(dni=DNIS[5], mobile="611222333")
    url = f"/customers/{customer['id']}"
    boss = api.auth(Role.supervisor, sub=str(uuid.uuid4()))
    exported = (await api.call("GET", f"{url}/export", expect=200)).json()
    assert [c["operation"] for c in exported["history"]] == ["created"]
    assert exported["history"][0]["changes"]["dni"]["new"] == DNIS[5]
    etag = (await api.call("GET", url, expect=200)).headers["etag"]
    await api.call("POST", f"{url}/erase", headers={**boss, "If-Match": etag}, expect=200)
    erasure, creation = await _history(api, url)
    assert creation["redacted"] and erasure["redacted"]
    assert creation["changes"]["dni"] == {"old": None, "new": "[redacted]"}
    assert creation["changes"]["email"] == {"old": None, "new": "[redacted]"}
    assert erasure["changes"]["mobile"] == {"old": "[redacted]", "new": None}
    assert erasure["changes"]["status"] == {"old": customer["status"], "new": "erased"}  # the fact stays
    assert erasure["actor"]["role"] == "supervisor"
    rows = await api.conn.scalars(
        text("SELECT changes::text FROM crm.change_history WHERE customer_id = :c"), {"c": customer["id"]}
    )
    for stored in rows.all():
        assert DNIS[5] not in stored and customer["email"] not in stored and "611222333" not in stored


@pytest.mark.parametrize("outcome", ["commit", "rollback"])
async def test_history_rows_commit_and_roll_back_with_the_change(
    committed: Api, app: FastAPI, outcome: str
) -> None:
    customer = await committed.customer()
    db = app.state.db

    class Refused(Exception):
        pass

    try:
        async with db.transaction() as session:
            row = (
                await session.scalars(select(Customer).where(Customer.id == uuid.UUID(customer["id"])))
            ).one()
            row.city = "Sevilla"
            await session.flush()
            written = await session.scalar(
                text("SELECT count(*) FROM crm.change_history WHERE entity_id = :c AND changes ? 'city'"),
                {"c": customer["id"]},
            )
            assert written == 1  # the trigger wrote it inside the changing transaction
            if outcome == "rollback":
                raise Refused
    except Refused:
        pass
    # Read on another connection, after the transaction ended for real.
    after = await committed.conn.scalar(
        text("SELECT count(*) FROM crm.change_history WHERE entity_id = :c AND changes ? 'city'"),
        {"c": customer["id"]},
    )
    city = await committed.conn.scalar(
        text("SELECT city FROM crm.customers WHERE id = :c"), {"c": customer["id"]}
    )
    assert (after, city) == ((1, "Sevilla") if outcome == "commit" else (0, None))
    await committed.conn.execute(
        text("DELETE FROM crm.change_history WHERE customer_id = :c"), {"c": customer["id"]}
    )
