"""Console mode: no Twilio account, calls progress on a timer and callbacks come back signed."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from aintech_contracts.rbac import Role
from aintech_devtools.testing import TestKeys
from aintech_shared.db import Database
from telephony.app import create_app
from telephony.providers.console import ConsoleTwilio
from telephony.settings import DEV_TWILIO_AUTH_TOKEN, Settings

from .conftest import ALWAYS_OPEN, BUSINESS_TABLES, PUBLIC_BASE, PUBLIC_HOST


@pytest.fixture
async def console(admin_database_url: str, keys: TestKeys) -> AsyncIterator[tuple[AsyncClient, FastAPI]]:
    settings = Settings(public_webhook_base_url=PUBLIC_BASE, console_step_seconds=0.05, **ALWAYS_OPEN)
    assert settings.console_mode
    holder: dict[str, AsyncClient] = {}

    async def post(url: str, params: Mapping[str, str], headers: Mapping[str, str]) -> tuple[int, str]:
        """Deliver the console's callback to the app as the gateway would (public host forwarded)."""
        assert url.startswith(PUBLIC_BASE)
        response = await holder["client"].post(
            url.removeprefix(PUBLIC_BASE),
            data=dict(params),
            headers={**headers, "X-Forwarded-Proto": "https", "X-Forwarded-Host": PUBLIC_HOST},
        )
        return response.status_code, response.text

    adapter = ConsoleTwilio(settings, poster=post)
    app = create_app(settings, twilio=adapter)
    app.state.token_verifier = keys.verifier()
    async with app.router.lifespan_context(app):
        db: Database = app.state.db
        async with db.transaction() as session:
            await session.execute(text(f"TRUNCATE {BUSINESS_TABLES}"))
        async with AsyncClient(
            transport=ASGITransport(app=app), base_url="http://telephony.internal"
        ) as client:
            holder["client"] = client
            yield client, app
        async with db.transaction() as session:
            await session.execute(text(f"TRUNCATE {BUSINESS_TABLES}"))
            await session.execute(text("DELETE FROM telephony.outbox"))


async def until(check: Any, *, within: float = 10.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_console_mode_simulates_a_whole_outbound_call_with_signed_callbacks(
    console: tuple[AsyncClient, FastAPI], keys: TestKeys
) -> None:
    client, app = console
    agent_id = uuid.uuid4()
    auth = {"Authorization": f"Bearer {keys.token(role=Role.agent, sub=str(agent_id))}"}
    token = (await client.post("/agents/token", headers=auth)).json()
    assert token["console"] is True and token["identity"] == str(agent_id)
    await client.post("/agents/status", json={"status": "available"}, headers=auth)
    call = (await client.post("/calls/initiate", json={"to": "+34612345678"}, headers=auth)).json()

    async def connected() -> dict[str, Any] | None:
        got = (await client.get(f"/calls/{call['id']}", headers=auth)).json()
        return got if got["status"] == "in-progress" and got["answered_at"] else None

    await until(connected)
    db: Database = app.state.db

    async def conference_known() -> bool:
        async with db.transaction() as session:
            return bool(
                await session.scalar(
                    text("SELECT conference_sid IS NOT NULL FROM telephony.calls WHERE id = :i"),
                    {"i": call["id"]},
                )
            )

    await until(conference_known)
    held = await client.post(f"/calls/{call['id']}/hold", json={"on": True}, headers=auth)
    assert held.status_code == 200, held.text
    ended = await client.post(f"/calls/{call['id']}/end", headers=auth)
    assert ended.status_code == 200 and ended.json()["status"] == "completed"

    supervisor = {"Authorization": f"Bearer {keys.token(role=Role.supervisor)}"}
    log = (await client.get("/console/requests", headers=supervisor)).json()
    assert log["console"] is True
    assert [r["operation"] for r in log["items"]] == ["calls.create", "participants.update", "calls.update"]
    assert log["items"][0]["params"]["to"] == "+34612345678"

    async def receipts() -> list[str]:
        async with db.transaction() as session:
            rows = await session.execute(
                text("SELECT status FROM telephony.webhook_receipts WHERE sid = :s ORDER BY received_at"),
                {"s": call["call_sid"]},
            )
            statuses = [r[0] for r in rows]
        return statuses if "completed" in statuses else []

    assert await until(receipts) == ["initiated", "ringing", "in-progress", "completed"]
    async with db.transaction() as session:
        ended_events = await session.scalar(
            text("SELECT count(*) FROM telephony.outbox WHERE event_type = 'call.ended' AND key = :k"),
            {"k": call["id"]},
        )
    assert ended_events == 1, "the console's own completed callback is absorbed, not a second end"


async def test_console_callbacks_are_signed_with_the_development_token(
    console: tuple[AsyncClient, FastAPI],
) -> None:
    client, app = console
    settings: Settings = app.state.runtime.settings
    assert settings.twilio_auth_token.get_secret_value() == DEV_TWILIO_AUTH_TOKEN
    unsigned = await client.post(
        "/webhooks/twilio/voice/incoming",
        data={"CallSid": "CA" + "0" * 32, "From": "+34600000000"},
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": PUBLIC_HOST},
    )
    assert unsigned.status_code == 403, "console mode still checks signatures"
    adapter: ConsoleTwilio = app.state.runtime.twilio
    status = await adapter.post_signed(
        f"{PUBLIC_BASE}/webhooks/twilio/voice/incoming",
        {"CallSid": "CA" + "0" * 32, "From": "+34600000000", "To": "+34910000000", "CallStatus": "ringing"},
    )
    assert status == 200


async def test_console_simulates_a_customer_calling_in_and_hanging_up(
    console: tuple[AsyncClient, FastAPI], keys: TestKeys
) -> None:
    client, app = console
    agent_id = uuid.uuid4()
    auth = {"Authorization": f"Bearer {keys.token(role=Role.agent, sub=str(agent_id))}"}
    supervisor = {"Authorization": f"Bearer {keys.token(role=Role.supervisor)}"}
    assert (await client.post("/console/inbound", json={}, headers=auth)).status_code == 403
    await client.post("/agents/status", json={"status": "available"}, headers=auth)
    served = await client.post(
        "/console/inbound", json={"caller": "+34699000888", "digits": "2"}, headers=supervisor
    )
    assert served.status_code == 201, served.text
    assert served.json()["voice_url_status"] == 200 and served.json()["menu_choice_status"] == 200
    waiting = await client.post(
        "/console/inbound", json={"caller": "+34699000777", "digits": "1"}, headers=supervisor
    )
    queue = (await client.get("/queue", headers=auth)).json()
    assert [(i["department"], i["priority"]) for i in queue["items"]] == [("claims", "high")]
    hung_up = await client.post(f"/console/calls/{waiting.json()['call_sid']}/hangup", headers=supervisor)
    assert hung_up.status_code == 204
    db: Database = app.state.db
    async with db.transaction() as session:
        outcome = await session.scalar(
            text("SELECT outcome FROM telephony.calls WHERE call_sid = :s"), {"s": waiting.json()["call_sid"]}
        )
        assigned = await session.scalar(
            text("SELECT agent_id FROM telephony.calls WHERE call_sid = :s"), {"s": served.json()["call_sid"]}
        )
    assert outcome == "abandoned"
    assert assigned == agent_id
    assert (await client.get("/queue", headers=auth)).json()["waiting"] == 0
    again = await client.post(f"/console/calls/{waiting.json()['call_sid']}/hangup", headers=supervisor)
    assert again.status_code == 404
