"""The authenticator's account events, published on the real broker and consumed by the worker's
`telephony.accounts` consumer: disabled agents and agents whose role changed leave the pool."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from aintech_contracts.events import EventData
from aintech_contracts.events.auth import UserDisabled, UserEnabled, UserRoleChanged
from aintech_contracts.rbac import Role
from aintech_devtools.api import eventually
from aintech_devtools.testing import TestKeys, publish_event
from aintech_shared.db import Database
from aintech_shared.events.consumer import EventConsumer
from telephony.agents.consumers import handles_calls
from telephony.calls.models import Call
from telephony.consumers import accounts as accounts_consumer
from telephony.core.base import MESSAGING

from .conftest import OUR_NUMBER, new_call_sid


@dataclasses.dataclass
class Accounts:
    client: AsyncClient
    db: Database
    keys: TestKeys
    publish: Callable[[EventData, uuid.UUID], Awaitable[None]]

    def auth(self, user: uuid.UUID, role: Role = Role.agent) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys.token(role=role, sub=str(user))}"}

    async def available(self) -> uuid.UUID:
        user = uuid.uuid4()
        ready = await self.client.post(
            "/agents/status", json={"status": "available"}, headers=self.auth(user)
        )
        assert ready.status_code == 200, ready.text
        return user

    async def agent(self, user: uuid.UUID) -> dict[str, Any]:
        return dict((await self.client.get("/agents/me", headers=self.auth(user))).json())

    async def status_events(self, user: uuid.UUID) -> list[tuple[str, str | None]]:
        async with self.db.transaction() as session:
            rows = await session.execute(
                text(
                    "SELECT payload FROM telephony.outbox WHERE event_type = 'agent.status_changed'"
                    " AND key = :k ORDER BY seq"
                ),
                {"k": str(user)},
            )
            return [(r[0]["data"]["status"], r[0]["data"].get("reason")) for r in rows]


@pytest.fixture
async def accounts(
    committed: Database, app: FastAPI, keys: TestKeys, kafka_bootstrap: str
) -> AsyncIterator[Accounts]:
    """The API on committed rows, and the worker's accounts consumer running on the real broker."""
    spec = dataclasses.replace(
        accounts_consumer(app.state.runtime), name=f"test-telephony-accounts-{uuid.uuid4().hex[:8]}"
    )
    consumer = EventConsumer(spec, db=committed, tables=MESSAGING, bootstrap=kafka_bootstrap)
    stop = asyncio.Event()
    consuming = asyncio.create_task(consumer.run(stop))

    async def publish(payload: EventData, key: uuid.UUID) -> None:
        await publish_event(kafka_bootstrap, payload, key=str(key), source="authenticator")

    try:
        async with AsyncClient(
            transport=ASGITransport(app=app), base_url="http://telephony.internal"
        ) as client:
            yield Accounts(client=client, db=committed, keys=keys, publish=publish)
    finally:
        stop.set()
        await consuming


async def test_a_disabled_agent_goes_offline_and_cannot_come_back_until_enabled(accounts: Accounts) -> None:
    agent, colleague = await accounts.available(), await accounts.available()
    admin = uuid.uuid4()
    await accounts.publish(UserDisabled(user_id=agent, disabled_by=admin, reason="baja"), agent)

    async def offline() -> bool:
        return (await accounts.agent(agent))["status"] == "offline"

    await eventually_within_30s(offline, what="the disabled agent going offline")
    assert (await accounts.agent(agent))["reason"] == "account disabled"
    pool = (await accounts.client.get("/agents/available", headers=accounts.auth(colleague))).json()
    assert [a["agent_id"] for a in pool] == [str(colleague)], "only the colleague is left in the pool"
    refused = await accounts.client.post(
        "/agents/status", json={"status": "available"}, headers=accounts.auth(agent)
    )
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    assert (await accounts.agent(colleague))["status"] == "available", "nobody else is touched"

    await accounts.publish(UserDisabled(user_id=agent, disabled_by=admin, reason="baja"), agent)  # replayed
    await accounts.publish(UserEnabled(user_id=agent, enabled_by=admin), agent)

    async def may_come_back() -> bool:
        answer = await accounts.client.post(
            "/agents/status", json={"status": "available"}, headers=accounts.auth(agent)
        )
        return answer.status_code == 200

    await eventually_within_30s(may_come_back, what="the enabled agent being allowed back")
    assert await accounts.status_events(agent) == [
        ("available", None),
        ("offline", "account disabled"),
        ("available", None),
    ], "enabled again, the agent chose to come back; the replayed event changed nothing"


async def test_a_role_change_mid_call_does_not_cut_the_call_and_the_agent_goes_offline_after(
    accounts: Accounts,
) -> None:
    agent = uuid.uuid4()
    call_id = uuid.uuid4()
    async with accounts.db.transaction() as session:
        session.add(
            Call(
                id=call_id,
                call_sid=new_call_sid(),
                direction="inbound",
                customer_phone="+34612000777",
                our_number=OUR_NUMBER,
                agent_id=agent,
                status="in-progress",
                answered_at=datetime.now(UTC),
                metadata_={},
            )
        )
        await session.execute(
            text(
                "INSERT INTO telephony.agent_status (agent_id, status, current_call_id, capabilities)"
                " VALUES (:a, 'busy', :c, '{}')"
            ),
            {"a": agent, "c": call_id},
        )
    supervisor = accounts.auth(uuid.uuid4(), Role.supervisor)
    await accounts.publish(
        UserRoleChanged(user_id=agent, old_role="agent", new_role="customer", changed_by=uuid.uuid4()), agent
    )

    async def withdrawn() -> bool:
        async with accounts.db.transaction() as session:
            found = await session.scalar(
                text("SELECT role_withdrawn_at FROM telephony.agent_status WHERE agent_id = :a"), {"a": agent}
            )
        return found is not None

    await eventually_within_30s(withdrawn, what="the role change reaching telephony")
    during = await accounts.agent(agent)
    assert during["status"] == "busy" and during["current_call_id"] == str(call_id), "the call goes on"
    assert (await accounts.client.get(f"/calls/{call_id}", headers=supervisor)).json()[
        "status"
    ] == "in-progress"

    ended = await accounts.client.post(f"/calls/{call_id}/end", headers=supervisor)
    assert ended.status_code == 200, ended.text
    after = await accounts.agent(agent)
    assert after["status"] == "offline" and after["reason"] == "role no longer handles calls"
    assert after["current_call_id"] is None


async def test_a_role_change_that_still_handles_calls_changes_nothing(accounts: Accounts) -> None:
    promoted, demoted = await accounts.available(), await accounts.available()
    # Both on one partition (same key), the promotion first: once the demotion is applied, the
    # promotion has been handled too.
    await accounts.publish(
        UserRoleChanged(user_id=promoted, old_role="agent", new_role="supervisor", changed_by=uuid.uuid4()),
        demoted,
    )
    await accounts.publish(
        UserRoleChanged(user_id=demoted, old_role="agent", new_role="customer", changed_by=uuid.uuid4()),
        demoted,
    )

    async def demoted_offline() -> bool:
        return (await accounts.agent(demoted))["status"] == "offline"

    await eventually_within_30s(demoted_offline, what="the demoted agent going offline")
    assert (await accounts.agent(promoted))["status"] == "available"
    assert await accounts.status_events(promoted) == [("available", None)]


def test_the_roles_that_handle_calls() -> None:
    assert [r for r in ("agent", "supervisor", "admin", "customer", "pirate") if handles_calls(r)] == [
        "agent",
        "supervisor",
        "admin",
    ]


async def eventually_within_30s(check: Callable[[], Awaitable[bool]], *, what: str) -> None:
    """The consumer has applied the event (Kafka delivery and the rebalance may take a while)."""
    await eventually(check, within=30, every=0.1, what=what)
