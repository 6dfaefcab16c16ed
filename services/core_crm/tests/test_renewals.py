"""A customer's CONFIRMAR to a renewal reminder (omnichannel's `renewal.confirmed`, published on the
real broker as omnichannel's relay would): recorded once per reminder, acted on for the agent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from aintech_contracts.events.omnichannel import RenewalConfirmed
from aintech_devtools.testing import find_event, publish_event
from core_crm.core.base import today
from core_crm.policies import service as policies

from .conftest import Flow


async def _expiring_policy(
    flow: Flow, *, owner: str, days: int = 12
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A customer's policy whose term ends in ``days`` days, announced as expiring soon."""
    customer = await flow.api.customer(owner_id=owner)
    ends = today() + timedelta(days=days)
    policy = await flow.api.policy(
        customer["id"], coverage_start_date=str(ends - timedelta(days=365)), coverage_end_date=str(ends)
    )
    async with flow.db.transaction() as session:
        await policies.announce_expiring(session, rt=flow.rt)
    return customer, policy


def _confirmation(policy: dict[str, Any], *, reminder: uuid.UUID | None = None) -> RenewalConfirmed:
    return RenewalConfirmed(
        policy_id=uuid.UUID(policy["id"]),
        customer_id=uuid.UUID(policy["customer_id"]),
        channel="whatsapp",
        message_id=uuid.uuid4(),
        reminder_message_id=reminder or uuid.uuid4(),
        confirmed_at=datetime.now(UTC),
    )


async def _publish(flow: Flow, payload: RenewalConfirmed) -> str:
    event = await publish_event(flow.bootstrap, payload, key=str(payload.policy_id), source="omnichannel")
    return event.id


async def _handled(flow: Flow, *event_ids: str) -> None:
    """Wait until the CRM's automation consumer has processed every one of these events."""
    await flow.wait_for(
        "SELECT count(*) = :n FROM crm.processed_events WHERE consumer LIKE '%core-crm.automation'"
        " AND event_id = ANY(:ids)",
        {"n": len(event_ids), "ids": list(event_ids)},
    )


async def test_confirmation_closes_the_call_and_asks_the_agent_to_issue_the_renewal_once(flow: Flow) -> None:
    api = flow.api
    owner = str(uuid.uuid4())
    customer, policy = await _expiring_policy(flow, owner=owner)
    call_task = await flow.wait_for(
        "SELECT id FROM crm.tasks WHERE policy_id = :p AND task_type = 'renewal'", {"p": policy["id"]}
    )
    confirmation = _confirmation(policy)
    # The same reminder's confirmation published twice (a second delivery with a new event id).
    first = await _publish(flow, confirmation)
    second = await _publish(flow, confirmation)
    await _handled(flow, first, second)

    rows = (
        await api.conn.execute(
            text(
                "SELECT outcome, term_end_date, task_id FROM crm.renewal_confirmations WHERE policy_id = :p"
            ),
            {"p": policy["id"]},
        )
    ).all()
    assert [(r.outcome, str(r.term_end_date)) for r in rows] == [("confirmed", policy["coverage_end_date"])]
    shown = (await api.call("GET", f"/policies/{policy['id']}", expect=200)).json()
    assert shown["renewal_confirmed_via"] == "whatsapp" and shown["renewal_confirmed_at"] is not None
    assert shown["version"] == policy["version"] + 1, "the ETag changes with the record"

    called = (await api.call("GET", f"/tasks/{call_task}", expect=200)).json()
    assert called["status"] == "completed"
    assert "confirmó la renovación respondiendo CONFIRMAR por WhatsApp" in called["description"]
    issue = (
        await api.conn.execute(
            text(
                "SELECT id, title, priority, assigned_to, status FROM crm.tasks"
                " WHERE policy_id = :p AND task_type = 'renewal_issue'"
            ),
            {"p": policy["id"]},
        )
    ).all()
    assert len(issue) == 1, "one issue task however often the confirmation arrives"
    assert issue[0].id == rows[0].task_id
    assert (issue[0].priority, str(issue[0].assigned_to), issue[0].status) == ("high", owner, "pending")
    assert policy["policy_number"] in issue[0].title
    created = await flow.event("crm.task", "task.created", str(issue[0].id))
    assert created["data"]["assigned_to"] == owner, "the agent is told (omnichannel notifies on task.created)"
    await flow.event("crm.task", "task.completed", str(call_task))

    # The agent issues the renewal with the carrier's new premium: the issue task is done with it.
    await api.call("POST", f"/policies/{policy['id']}/renew", json={"premium_amount": "445.00"}, expect=200)
    await flow.wait_for("SELECT status = 'completed' FROM crm.tasks WHERE id = :t", {"t": str(issue[0].id)})
    renewed = (await api.call("GET", f"/policies/{policy['id']}", expect=200)).json()
    assert renewed["renewal_confirmed_at"] is None, "the new term has not been confirmed yet"
    assert customer["id"] == renewed["customer_id"]


async def test_confirmations_that_cannot_renew_are_followed_up_or_dead_lettered(flow: Flow) -> None:
    api = flow.api
    owner = str(uuid.uuid4())
    # Cancelled after the reminder: the agent must call the customer.
    _, cancelled = await _expiring_policy(flow, owner=owner)
    await api.call(
        "POST", f"/policies/{cancelled['id']}/cancel", json={"reason": "Venta del piso"}, expect=200
    )
    # Renewed by the agent before the customer answered: nothing is left to do.
    _, renewed = await _expiring_policy(flow, owner=owner)
    await api.call("POST", f"/policies/{renewed['id']}/renew", json={"premium_amount": "430.00"}, expect=200)
    # A policy the CRM does not know: an operator must look at it.
    unknown = {**renewed, "id": str(uuid.uuid4())}

    events = [
        await _publish(flow, _confirmation(cancelled)),
        await _publish(flow, _confirmation(renewed)),
    ]
    stray = _confirmation(unknown)
    stray_id = await _publish(flow, stray)
    await _handled(flow, *events)

    outcomes: dict[str, str] = dict(
        (
            await api.conn.execute(
                text(
                    "SELECT policy_id::text, outcome FROM crm.renewal_confirmations WHERE policy_id = ANY(:p)"
                ),
                {"p": [uuid.UUID(cancelled["id"]), uuid.UUID(renewed["id"])]},
            )
        ).all()
    )
    assert outcomes == {cancelled["id"]: "not_renewable", renewed["id"]: "already_renewed"}
    follow_up = (
        await api.conn.execute(
            text(
                "SELECT title, assigned_to FROM crm.tasks"
                " WHERE policy_id = :p AND task_type = 'renewal_follow_up'"
            ),
            {"p": cancelled["id"]},
        )
    ).one()
    assert "cancelada" in follow_up.title and str(follow_up.assigned_to) == owner
    issued = await api.conn.scalar(
        text("SELECT count(*) FROM crm.tasks WHERE policy_id = :p AND task_type = 'renewal_issue'"),
        {"p": renewed["id"]},
    )
    assert issued == 0
    still_shown = (await api.call("GET", f"/policies/{renewed['id']}", expect=200)).json()
    assert still_shown["renewal_confirmed_at"] is None

    parked = await find_event(flow.bootstrap, "omnichannel.confirmation.dlq", lambda e: e.id == stray_id)
    assert parked is not None, "an unmatched confirmation is dead-lettered for an operator, not dropped"
