"""ai-fraud's verdicts in the CRM: the latest score and band on the claim (staff with `fraud:review`
only, never a customer), and one supervisor's investigation task per `fraud.alert`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events.base import EventData
from aintech_contracts.events.fraud import FraudAlert, FraudScored
from core_crm.consumers import fraud_flags

from .conftest import Api

NOW = datetime.now(UTC)


async def _claim(api: Api, customer: dict[str, Any] | None = None) -> dict[str, Any]:
    customer = customer or await api.customer()
    policy = await api.policy(customer["id"])
    body = {
        "policy_id": policy["id"],
        "claim_type": "water_damage",
        "incident_date": "2026-03-10T10:00:00+01:00",
        "description": "Fuga de agua.",
        "claimed_amount": "1850.00",
    }
    return dict((await api.call("POST", "/claims", json=body, expect=201)).json())


async def _deliver(api: Api, payload: EventData, *, event_id: str | None = None) -> CloudEvent:
    """Hand ``payload`` to the core-crm.fraud consumer's handler, in a transaction as the consumer does."""
    event = CloudEvent.wrap(payload, type_=payload.event_type, source="ai-fraud", subject=None)
    if event_id is not None:
        event.id = event_id
    handler = fraud_flags(api.app.state.runtime).handlers[payload.event_type]
    async with api.app.state.db.transaction() as session:
        await handler(session, event)
    return event


def _scored(claim_id: str, score: int, band: str, at: datetime) -> FraudScored:
    return FraudScored(
        claim_id=uuid.UUID(claim_id),
        score=score,
        band=band,
        parts=[],
        trigger="claim.created",
        scored_at=at,
    )


def _alert(claim: dict[str, Any], score: int = 82) -> FraudAlert:
    return FraudAlert(
        claim_id=uuid.UUID(claim["id"]),
        claim_number=claim["claim_number"],
        score=score,
        summary_es="Puntuación 82",
        summary_en="Score 82",
        scored_at=NOW,
    )


async def _supervisor(api: Api, user_id: uuid.UUID | None = None) -> uuid.UUID:
    user_id = user_id or uuid.uuid4()
    await api.conn.execute(
        text("INSERT INTO crm.accounts (user_id, email, role) VALUES (:u, :e, 'supervisor')"),
        {"u": user_id, "e": f"sup-{user_id.hex[:8]}@aintech.test"},
    )
    return user_id


async def test_the_latest_score_shows_on_the_claim_to_fraud_reviewers_only(api: Api) -> None:
    customer = await api.customer()
    me = await api.customer_login(customer["id"])
    claim = await _claim(api, customer)
    url = f"/claims/{claim['id']}/fraud"
    await api.call("GET", url, headers=api.supervisor, expect=404)  # not scored yet

    await _deliver(api, _scored(claim["id"], 55, "review", NOW))
    shown = (await api.call("GET", url, headers=api.supervisor, expect=200)).json()
    assert (shown["score"], shown["band"]) == (55, "review")
    assert datetime.fromisoformat(shown["scored_at"]) == NOW
    assert shown["alerted_at"] is None

    await api.call("GET", url, headers=me, expect=403)  # the customer, on their own claim
    await api.call("GET", url, headers=api.agent, expect=403)  # staff without fraud:review
    # Nothing of it is on the claim the customer (or an agent) reads.
    for headers in (me, api.agent):
        body = (await api.call("GET", f"/claims/{claim['id']}", headers=headers, expect=200)).json()
        assert not {"score", "band", "fraud"} & set(body)


async def test_a_late_older_score_does_not_replace_a_newer_one(api: Api) -> None:
    claim = await _claim(api)
    await _deliver(api, _scored(claim["id"], 74, "high", NOW))
    await _deliver(api, _scored(claim["id"], 12, "low", NOW - timedelta(minutes=5)))
    shown = (await api.call("GET", f"/claims/{claim['id']}/fraud", headers=api.supervisor, expect=200)).json()
    assert (shown["score"], shown["band"]) == (74, "high")
    await _deliver(api, _scored(claim["id"], 30, "low", NOW + timedelta(minutes=1)))
    shown = (await api.call("GET", f"/claims/{claim['id']}/fraud", headers=api.supervisor, expect=200)).json()
    assert (shown["score"], shown["band"]) == (30, "low")


async def test_an_alert_opens_one_investigation_task_for_the_least_loaded_supervisor(api: Api) -> None:
    await api.conn.execute(text("UPDATE crm.accounts SET active = false WHERE role = 'supervisor'"))
    # Both start with no open investigation: the first alert goes to the lower id, the next to the other.
    busy, free = await _supervisor(api, uuid.UUID(int=1)), await _supervisor(api, uuid.UUID(int=2))
    first, second = await _claim(api), await _claim(api)
    await _deliver(api, _scored(first["id"], 82, "high", NOW))
    event = await _deliver(api, _alert(first))
    await _deliver(api, _alert(first), event_id=event.id)  # the same alert again: no second task
    await _deliver(api, _alert(second))

    rows = (
        await api.conn.execute(
            text(
                "SELECT claim_id, assigned_to, task_type, priority, title, description FROM crm.tasks "
                "WHERE claim_id IN (:a, :b) ORDER BY created_at"
            ),
            {"a": first["id"], "b": second["id"]},
        )
    ).all()
    assert [(str(r.claim_id), r.assigned_to) for r in rows] == [(first["id"], busy), (second["id"], free)]
    assert {r.task_type for r in rows} == {"fraud_investigation"} and {r.priority for r in rows} == {"high"}
    assert first["claim_number"] in rows[0].title
    assert "82" not in rows[0].description  # the score stays behind fraud:review
    [created] = [e for e in await api.events("task.created") if e["data"]["claim_id"] == first["id"]]
    assert created["data"]["assigned_to"] == str(busy)
    shown = (await api.call("GET", f"/claims/{first['id']}/fraud", headers=api.supervisor, expect=200)).json()
    assert shown["alerted_at"] is not None


async def test_verdicts_on_a_claim_the_crm_does_not_have_change_nothing(api: Api) -> None:
    ghost = {"id": str(uuid.uuid4()), "claim_number": "CLM-GHOST"}
    await _deliver(api, _scored(ghost["id"], 90, "high", NOW))
    await _deliver(api, _alert(ghost))
    assert (
        await api.conn.scalar(text("SELECT count(*) FROM crm.tasks WHERE claim_id = :c"), {"c": ghost["id"]})
    ) == 0
    await api.call("GET", f"/claims/{ghost['id']}/fraud", headers=api.supervisor, expect=404)
