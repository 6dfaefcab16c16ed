"""Signalling rooms spanning two API replicas (two app instances, each with its own database pool
and LISTEN connection, behind their own uvicorn servers): the parties of a call reach each other
through Postgres LISTEN/NOTIFY whichever replica each is connected to."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx
import pytest
import websockets
from fastapi import FastAPI
from sqlalchemy import text

from aintech_contracts.rbac import Role
from aintech_devtools.testing import TestKeys
from aintech_shared.db import Database
from aintech_shared.live import MAX_PAYLOAD, Reassembler, frames
from telephony.signalling.hub import SignallingHub

from .conftest import make_settings, started_app
from .fake_twilio import FakeTwilio
from .sockets import bearer, receive, serving, until, wait_until


@dataclass
class Replica:
    app: FastAPI
    url: str

    @property
    def hub(self) -> SignallingHub:
        hub: SignallingHub = self.app.state.signalling
        return hub

    def room(self, call_id: uuid.UUID) -> str:
        return f"{self.url}/ws/calls/{call_id}"


@pytest.fixture
async def replicas(keys: TestKeys, fake_twilio: FakeTwilio, app: FastAPI) -> AsyncIterator[list[Replica]]:
    """Two telephony API replicas. Rooms re-check their call only every minute, so a room that
    closes sooner was closed by the call's end travelling over LISTEN/NOTIFY."""
    settings = make_settings(fake_twilio, signalling_recheck_seconds=60)
    async with AsyncExitStack() as stack:
        started = []
        for _ in range(2):
            instance, lifespan = await started_app(settings, keys)
            stack.push_async_callback(lifespan.__aexit__, None, None, None)
            started.append(Replica(instance, await stack.enter_async_context(serving(instance))))
        assert all(r.hub.listening for r in started)
        yield started


async def test_parties_on_different_replicas_exchange_offer_answer_and_ice(
    replicas: list[Replica], live_call: dict[str, uuid.UUID], keys: TestKeys
) -> None:
    one, two = replicas
    call, agent_id, user_id = live_call["call"], str(live_call["agent"]), str(live_call["user"])
    async with websockets.connect(
        one.room(call), additional_headers=bearer(keys, Role.agent, live_call["agent"])
    ) as agent:
        assert (await receive(agent))["peers"] == []
        async with websockets.connect(
            two.room(call), additional_headers=bearer(keys, Role.customer, live_call["user"])
        ) as customer:
            assert (await receive(customer))["peers"] == [agent_id], "presence is shared by the replicas"
            assert await receive(agent) == {"type": "peer-joined", "user_id": user_id}

            # An offer far larger than a NOTIFY payload (8000 bytes) arrives whole.
            candidates = "".join(
                f"a=candidate:{n} 1 udp 2122260223 192.168.1.{n % 250} {50000 + n} typ host\r\n"
                for n in range(400)
            )
            offer = {"type": "offer", "sdp": "v=0\r\no=- 46117 2 IN IP4 127.0.0.1\r\ns=café\r\n" + candidates}
            assert len(json.dumps(offer)) > 3 * MAX_PAYLOAD
            await agent.send(json.dumps({"type": "offer", "payload": offer}))
            assert await receive(customer) == {"type": "offer", "from": agent_id, "payload": offer}

            await customer.send(json.dumps({"type": "answer", "payload": {"sdp": "v=0", "type": "answer"}}))
            assert await receive(agent) == {
                "type": "answer",
                "from": user_id,
                "payload": {"sdp": "v=0", "type": "answer"},
            }
            for n in range(20):  # an ICE burst keeps its order across replicas
                candidate = {
                    "candidate": f"candidate:{n} 1 udp 1 10.0.0.1 {40000 + n} typ host",
                    "sdpMid": "0",
                }
                await customer.send(json.dumps({"type": "ice", "payload": candidate, "to": agent_id}))
            received = [await receive(agent) for _ in range(20)]
            assert [f["payload"]["candidate"].split()[0] for f in received] == [
                f"candidate:{n}" for n in range(20)
            ]
            await customer.send(json.dumps({"type": "ice", "payload": {}, "to": str(uuid.uuid4())}))
            assert "party" in (await receive(customer))["detail"]
        assert await receive(agent) == {"type": "peer-left", "user_id": user_id}


async def test_a_newer_connection_on_another_replica_replaces_the_older_one_silently(
    replicas: list[Replica], live_call: dict[str, uuid.UUID], keys: TestKeys
) -> None:
    one, two = replicas
    call, agent_id = live_call["call"], str(live_call["agent"])
    agent_auth = bearer(keys, Role.agent, live_call["agent"])
    async with (
        websockets.connect(
            two.room(call), additional_headers=bearer(keys, Role.customer, live_call["user"])
        ) as customer,
        websockets.connect(one.room(call), additional_headers=agent_auth) as old,
    ):
        await receive(customer)
        await receive(old)
        assert (await receive(customer))["type"] == "peer-joined"
        async with websockets.connect(two.room(call), additional_headers=agent_auth) as new:
            assert (await receive(new))["peers"] == [str(live_call["user"])]
            with pytest.raises(websockets.ConnectionClosed) as replaced:
                await receive(old)
            assert replaced.value.rcvd is not None and replaced.value.rcvd.code == 4409
            await wait_until(lambda: one.hub.connections == 0, what="the replaced connection left")
            await new.send(json.dumps({"type": "offer", "payload": {"sdp": "v=0"}}))
            seen = await until(customer, lambda f: f["type"] == "offer")
            assert seen == [{"type": "offer", "from": agent_id, "payload": {"sdp": "v=0"}}], (
                "the agent never left the room, so nobody was told they did"
            )


async def test_ending_the_call_on_one_replica_closes_its_room_on_both_at_once(
    replicas: list[Replica], live_call: dict[str, uuid.UUID], keys: TestKeys
) -> None:
    one, two = replicas
    call = live_call["call"]
    agent_auth = bearer(keys, Role.agent, live_call["agent"])
    async with (
        websockets.connect(one.room(call), additional_headers=agent_auth) as agent,
        websockets.connect(
            two.room(call), additional_headers=bearer(keys, Role.customer, live_call["user"])
        ) as customer,
    ):
        await receive(agent)
        await receive(customer)
        async with httpx.AsyncClient(base_url=one.url.replace("ws://", "http://")) as client:
            ended = await client.post(f"/calls/{call}/end", headers=agent_auth)
        assert ended.status_code == 200, ended.text
        for ws in (agent, customer):
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await until(ws, lambda f: False, within=5)  # far sooner than the minute's re-check
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4410


async def test_a_replica_that_loses_its_listen_connection_asks_its_parties_to_reconnect(
    replicas: list[Replica], live_call: dict[str, uuid.UUID], keys: TestKeys, app: FastAPI
) -> None:
    one, two = replicas
    call, agent_id = live_call["call"], str(live_call["agent"])
    async with websockets.connect(
        two.room(call), additional_headers=bearer(keys, Role.customer, live_call["user"])
    ) as customer:
        await receive(customer)
        async with websockets.connect(
            one.room(call), additional_headers=bearer(keys, Role.agent, live_call["agent"])
        ) as agent:
            await receive(agent)
            await receive(customer)
            listener_pid = two.hub.listener.backend_pid
            assert listener_pid is not None
            db: Database = app.state.db
            async with db.engine.connect() as admin:  # the database drops that one connection
                await admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": listener_pid})
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await until(customer, lambda f: False)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
            await wait_until(lambda: two.hub.listening, what="the replica listening again")
            async with websockets.connect(
                two.room(call), additional_headers=bearer(keys, Role.customer, live_call["user"])
            ) as again:
                assert (await receive(again))["peers"] == [agent_id]
                await until(agent, lambda f: f == {"type": "peer-joined", "user_id": str(live_call["user"])})
                await agent.send(json.dumps({"type": "ice", "payload": {"candidate": "x"}}))
                assert (await receive(again))["payload"] == {"candidate": "x"}


def test_chunked_messages_are_put_back_together_whatever_the_order_and_interleaving() -> None:
    big = {"k": "relay", "m": {"payload": {"sdp": "é" * 9000 + "x" * 9000}}}
    small = {"k": "join", "c": "call"}
    chunks, other = frames(big), frames({"k": "relay", "m": {"sdp": "y" * 20000}})
    assert len(chunks) > 2 and all(len(c.encode()) <= MAX_PAYLOAD for c in chunks + other)
    assert all(c.isascii() for c in chunks)
    assembler = Reassembler()
    out = []
    for payload in [chunks[2], other[0], *frames(small), chunks[0], *other[1:], chunks[1], *chunks[3:]]:
        done = assembler.feed(payload)
        if done is not None:
            out.append(done)
    assert out == [small, {"k": "relay", "m": {"sdp": "y" * 20000}}, big]
    assert assembler.feed("#garbage") is None and assembler.feed("not json") is None
