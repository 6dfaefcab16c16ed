"""WebRTC signalling over a real WebSocket server: rooms per call, parties only, relayed messages."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import pytest
import websockets
from fastapi import FastAPI
from sqlalchemy import text

from aintech_contracts.rbac import Role
from aintech_devtools.testing import TestKeys
from aintech_shared.db import Database

from .sockets import bearer, receive, serving


@pytest.fixture
async def server(app: FastAPI) -> AsyncIterator[str]:
    """The app behind a real uvicorn on 127.0.0.1 (WebSockets need a real server and client)."""
    async with serving(app) as url:
        yield url


async def test_offer_answer_and_ice_reach_the_other_party_only(
    server: str, live_call: dict[str, uuid.UUID], keys: TestKeys
) -> None:
    url = f"{server}/ws/calls/{live_call['call']}"
    agent_id, user_id = str(live_call["agent"]), str(live_call["user"])
    async with websockets.connect(
        url, additional_headers=bearer(keys, Role.agent, live_call["agent"])
    ) as agent:
        hello = await receive(agent)
        assert hello == {
            "type": "joined",
            "call_id": str(live_call["call"]),
            "user_id": agent_id,
            "peers": [],
        }
        async with websockets.connect(
            url, additional_headers=bearer(keys, Role.customer, live_call["user"])
        ) as customer:
            assert (await receive(customer))["peers"] == [agent_id]
            assert await receive(agent) == {"type": "peer-joined", "user_id": user_id}

            offer = {"sdp": "v=0\r\no=- 46117 2 IN IP4 127.0.0.1\r\n", "type": "offer"}
            await agent.send(json.dumps({"type": "offer", "payload": offer}))
            assert await receive(customer) == {"type": "offer", "from": agent_id, "payload": offer}
            await customer.send(json.dumps({"type": "answer", "payload": {"sdp": "v=0", "type": "answer"}}))
            assert (await receive(agent))["type"] == "answer"
            candidate = {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", "sdpMid": "0"}
            await customer.send(json.dumps({"type": "ice", "payload": candidate, "to": agent_id}))
            assert await receive(agent) == {"type": "ice", "from": user_id, "payload": candidate}

            await agent.send(json.dumps({"type": "shell", "payload": {}}))
            assert (await receive(agent))["type"] == "error"
            await agent.send("not json")
            assert (await receive(agent))["type"] == "error"
            await agent.send(json.dumps({"type": "ice", "payload": {}, "to": str(uuid.uuid4())}))
            assert "party" in (await receive(agent))["detail"]
        assert await receive(agent) == {"type": "peer-left", "user_id": user_id}


async def test_strangers_and_unauthenticated_clients_are_refused_at_the_handshake(
    server: str, live_call: dict[str, uuid.UUID], keys: TestKeys
) -> None:
    url = f"{server}/ws/calls/{live_call['call']}"
    cases = [
        ({}, 401),
        ({"Authorization": "Bearer not-a-token"}, 401),
        (bearer(keys, Role.agent, uuid.uuid4()), 403),
        (bearer(keys, Role.customer, uuid.uuid4()), 403),
        (bearer(keys, Role.supervisor, uuid.uuid4()), 403),
    ]
    for headers, status in cases:
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(url, additional_headers=headers):
                pass
        assert refused.value.response.status_code == status, headers
        assert b"Signalling refused" in refused.value.response.body
    with pytest.raises(websockets.InvalidStatus) as missing:
        async with websockets.connect(
            f"{server}/ws/calls/{uuid.uuid4()}",
            additional_headers=bearer(keys, Role.agent, live_call["agent"]),
        ):
            pass
    assert missing.value.response.status_code == 404


async def test_oversized_messages_close_the_connection(
    server: str, live_call: dict[str, uuid.UUID], keys: TestKeys
) -> None:
    url = f"{server}/ws/calls/{live_call['call']}"
    async with websockets.connect(
        url, additional_headers=bearer(keys, Role.agent, live_call["agent"])
    ) as agent:
        await receive(agent)
        await agent.send(json.dumps({"type": "offer", "payload": {"sdp": "x" * 70_000}}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await receive(agent)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4413


async def test_the_room_closes_when_the_call_ends(
    server: str, live_call: dict[str, uuid.UUID], keys: TestKeys, app: FastAPI
) -> None:
    url = f"{server}/ws/calls/{live_call['call']}"
    async with websockets.connect(
        url, additional_headers=bearer(keys, Role.agent, live_call["agent"])
    ) as agent:
        await receive(agent)
        db: Database = app.state.db
        async with db.transaction() as session:
            await session.execute(
                text("UPDATE telephony.calls SET status = 'completed' WHERE id = :i"),
                {"i": live_call["call"]},
            )
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(agent.recv(), timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4410
    with pytest.raises(websockets.InvalidStatus) as ended:
        async with websockets.connect(url, additional_headers=bearer(keys, Role.agent, live_call["agent"])):
            pass
    assert ended.value.response.status_code == 410
