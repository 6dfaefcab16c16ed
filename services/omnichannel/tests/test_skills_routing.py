"""Conversations are routed by the skills telephony's supervisors set (``agent.skills_changed``): a
customer answering a claim update goes to a claims agent while a sales agent has room, and to any
agent once it waited ``widen_after()`` (OMNICHANNEL_ROUTING_WIDEN_AFTER_SECONDS)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import crm, telephony
from aintech_contracts.rbac import Role
from aintech_contracts.statuses import ClaimStatus
from omnichannel.agents import service as agents
from omnichannel.app import create_app
from omnichannel.consumers import consumer_specs
from omnichannel.core.runtime import build_runtime
from omnichannel.delivery import consumers
from omnichannel.settings import Settings

from .conftest import Api, Person


def phone() -> str:
    return "+346" + str(uuid.uuid4().int)[:8]


async def skilled(api: Api, skills: dict[str, int], *, changed_at: datetime | None = None) -> Person:
    """An online agent whose skills arrive as telephony publishes them (through the worker's handler)."""
    agent = api.person(Role.agent)
    online = await api.client.put(
        "/agents/me/presence", json={"status": "online", "capacity": 5}, headers=agent.auth
    )
    assert online.status_code == 200, online.text
    await skills_event(api, agent.user_id, skills, changed_at=changed_at or datetime.now(UTC))
    return agent


async def skills_event(
    api: Api, agent_id: uuid.UUID, skills: dict[str, int], *, changed_at: datetime
) -> None:
    [group] = [s for s in consumer_specs(build_runtime(Settings())) if s.name == "omnichannel.telephony"]
    payload = telephony.AgentSkillsChanged(agent_id=agent_id, skills=skills, changed_at=changed_at)
    event = CloudEvent.wrap(payload, type_=payload.event_type, source="telephony", subject=None)
    handler: Any = group.handlers[payload.event_type]
    async with api.db.transaction() as session:
        await handler(session, event)


async def claim_update_to(api: Api, customer_id: uuid.UUID) -> None:
    event = crm.ClaimCreated(
        claim_id=uuid.uuid4(),
        claim_number="SIN-2026-77",
        claim_type="auto",
        status=ClaimStatus.reported,
        customer_id=customer_id,
        policy_id=uuid.uuid4(),
        policy_number="POL-1",
        incident_date=datetime.now(UTC),
        description="Golpe",
    )
    async with api.db.transaction() as session:
        await consumers.on_claim(
            session, CloudEvent.wrap(event, type_=event.event_type, source="core-crm", subject=None)
        )


async def test_a_claims_whatsapp_goes_to_the_claims_agent_while_a_sales_agent_has_room(api: Api) -> None:
    sales = await skilled(api, {"sales": 5, "es": 5})  # first in the round robin
    claims = await skilled(api, {"claims": 3, "es": 4})
    number = phone()
    customer_id = await api.customer(mobile=number, preferred_channel="whatsapp")
    await api.open_whatsapp_window(number)
    await api.execute(
        "UPDATE omnichannel.conversations SET status = 'resolved', assignee_id = NULL WHERE address = :n",
        n=number,
    )
    await claim_update_to(api, customer_id)
    await api.inbound("whatsapp:" + number, "¿Cuándo viene el perito?")
    [row] = await api.sql(
        "SELECT topic, assignee_id FROM omnichannel.conversations WHERE address = :n", n=number
    )
    assert row["topic"] == "claims"
    assert row["assignee_id"] == claims.user_id, "the sales agent was first in line but holds no claims skill"
    assert sales.user_id != claims.user_id


async def waiting_for_a_claims_agent(api: Api, text: str) -> tuple[Person, str, datetime]:
    """Only a sales agent on duty; a customer with a claim update writes again. Returns the sales
    agent, the customer's number and when the message came: the conversation waits unassigned."""
    sales = await skilled(api, {"sales": 5, "es": 5})
    number = phone()
    customer_id = await api.customer(mobile=number, preferred_channel="whatsapp")
    await api.open_whatsapp_window(number)
    await api.execute(
        "UPDATE omnichannel.conversations SET status = 'resolved', assignee_id = NULL WHERE address = :n",
        n=number,
    )
    await claim_update_to(api, customer_id)
    await api.inbound("whatsapp:" + number, text)
    [row] = await api.sql(
        "SELECT assignee_id, last_inbound_at FROM omnichannel.conversations WHERE address = :n", n=number
    )
    assert row["assignee_id"] is None, "no claims agent: it waits"
    return sales, number, row["last_inbound_at"]


async def test_a_conversation_nobody_skilled_can_take_widens_to_any_agent_after_the_wait(api: Api) -> None:
    sales, number, waited = await waiting_for_a_claims_agent(api, "Hola otra vez")
    async with api.db.transaction() as session:
        early = await agents.assign_queued(session, now=waited + agents.widen_after() - timedelta(seconds=1))
    assert early == 0
    async with api.db.transaction() as session:
        late = await agents.assign_queued(session, now=waited + agents.widen_after())
    assert late == 1
    [row] = await api.sql("SELECT assignee_id FROM omnichannel.conversations WHERE address = :n", n=number)
    assert row["assignee_id"] == sales.user_id


async def test_an_older_skills_change_arriving_late_does_not_overwrite_a_newer_one(api: Api) -> None:
    now = datetime.now(UTC)
    agent = await skilled(api, {"claims": 4}, changed_at=now)
    await skills_event(api, agent.user_id, {"sales": 1}, changed_at=now - timedelta(minutes=5))
    [row] = await api.sql("SELECT skills FROM omnichannel.agents WHERE user_id = :u", u=agent.user_id)
    assert row["skills"] == {"claims": 4}


async def test_widening_happens_at_the_configured_wait_not_before(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = agents.widen_after()
    monkeypatch.setenv("OMNICHANNEL_ROUTING_WIDEN_AFTER_SECONDS", "45")
    configured = Settings()
    assert configured.routing_widen_after_seconds == 45
    create_app(configured)  # the API applies the setting when it is built (the worker does the same)
    try:
        assert agents.widen_after() == timedelta(seconds=45) != default
        sales, number, waited = await waiting_for_a_claims_agent(api, "Sigo esperando")
        for seconds in (1, 44):  # well before the default 120 s too: nothing before the configured wait
            async with api.db.transaction() as session:
                assert await agents.assign_queued(session, now=waited + timedelta(seconds=seconds)) == 0
        async with api.db.transaction() as session:
            assert await agents.assign_queued(session, now=waited + timedelta(seconds=45)) == 1
        [row] = await api.sql(
            "SELECT assignee_id FROM omnichannel.conversations WHERE address = :n", n=number
        )
        assert row["assignee_id"] == sales.user_id
    finally:
        agents.configure_routing(Settings(routing_widen_after_seconds=int(default.total_seconds())))


def test_the_widening_wait_setting_is_validated() -> None:
    for bad in (-1, 86_401):
        with pytest.raises(ValidationError):
            Settings(routing_widen_after_seconds=bad)
