"""WebRTC signalling through the gateway: the call's agent and the target of its warm transfer
exchange offer, answer and ICE candidates with real WebSocket clients, anyone else is refused at the
handshake, and the room closes when the call ends."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from .conftest import Fleet

SEED_PASSWORD = "Aintech-Demo-2026!"


async def sign_in(gw: httpx.AsyncClient, email: str) -> tuple[str, str]:
    """(access token, user id) of a seeded account."""
    resp = await gw.post("/api/auth/login", json={"email": email, "password": SEED_PASSWORD})
    assert resp.status_code == 200, resp.text
    token = str(resp.json()["access_token"])
    return token, str(jwt.decode(token, options={"verify_signature": False})["sub"])


async def frame(ws: ClientConnection, within: float = 30) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), timeout=within)))


async def closed_with(ws: ClientConnection, within: float = 30) -> int:
    """The close code the server sends, reading (and ignoring) frames until then."""
    deadline = time.monotonic() + within
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), timeout=max(0.1, deadline - time.monotonic()))
    assert closed.value.rcvd is not None, "the server closed the socket with a code"
    return closed.value.rcvd.code


def sdp(size: int) -> str:
    """An SDP offer about ``size`` bytes long (a video offer with many candidates is several kB)."""
    lines = ["v=0", "o=- 4611731400430051336 2 IN IP4 127.0.0.1", "s=-", "t=0 0"]
    n = 0
    while sum(len(line) + 2 for line in lines) < size:
        n += 1
        lines.append(
            f"a=candidate:{n} 1 udp 2122260223 192.168.1.{n % 250} {50000 + n} typ host generation 0"
        )
    return "\r\n".join(lines) + "\r\n"


async def test_agent_and_transfer_target_signal_through_the_gateway(fleet: Fleet) -> None:
    ws_base = fleet.gateway.replace("http://", "ws://")
    async with httpx.AsyncClient(base_url=fleet.gateway, timeout=30) as gw:
        agent_token, agent_id = await sign_in(gw, "agent3@aintech.com")
        target_token, target_id = await sign_in(gw, "agent1@aintech.com")
        other_token, _ = await sign_in(gw, "agent2@aintech.com")
        customer_token = (
            await gw.post(
                "/api/auth/login", json={"email": "customer1@aintech.com", "password": SEED_PASSWORD}
            )
        ).json()["access_token"]
        agent = {"Authorization": f"Bearer {agent_token}"}
        target = {"Authorization": f"Bearer {target_token}"}
        for auth in (agent, target):
            ready = await gw.post("/api/telephony/agents/status", json={"status": "available"}, headers=auth)
            assert ready.status_code == 200, ready.text

        placed = await gw.post("/api/telephony/calls/initiate", json={"to": "+34 612 777 888"}, headers=agent)
        assert placed.status_code == 201, placed.text
        call_id = placed.json()["id"]
        deadline = time.monotonic() + 60
        while (await gw.get(f"/api/telephony/calls/{call_id}", headers=agent)).json()[
            "status"
        ] != "in-progress":
            assert time.monotonic() < deadline, "the console-simulated call never connected"
            await asyncio.sleep(0.2)
        warm = await gw.post(
            f"/api/telephony/calls/{call_id}/transfer",
            json={"kind": "warm", "to_agent_id": target_id},
            headers=agent,
        )
        assert warm.status_code == 200, warm.text

        room = f"{ws_base}/ws/telephony/calls/{call_id}"
        for subprotocols, url, status in (
            (None, room, 401),
            (["bearer", other_token], room, 403),  # an agent who is no party of the call
            (None, f"{room}?access_token={customer_token}", 403),  # a customer not on the call
        ):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(url, subprotocols=subprotocols):  # type: ignore[arg-type]
                    pass
            assert refused.value.response.status_code == status, subprotocols
            assert refused.value.response.headers["content-type"] == "application/problem+json"

        async with connect(room, subprotocols=["bearer", agent_token]) as first:  # type: ignore[list-item]
            hello = await frame(first)
            assert hello == {"type": "joined", "call_id": call_id, "user_id": agent_id, "peers": []}
            async with connect(f"{room}?access_token={target_token}") as second:
                assert (await frame(second))["peers"] == [agent_id]
                assert await frame(first) == {"type": "peer-joined", "user_id": target_id}

                offer = {"type": "offer", "sdp": sdp(20_000)}  # over NOTIFY's 8 kB payload limit
                await first.send(json.dumps({"type": "offer", "payload": offer}))
                assert await frame(second) == {"type": "offer", "from": agent_id, "payload": offer}
                answer = {"type": "answer", "sdp": sdp(600)}
                await second.send(json.dumps({"type": "answer", "payload": answer}))
                assert await frame(first) == {"type": "answer", "from": target_id, "payload": answer}
                for n in range(3):
                    candidate = {
                        "candidate": f"candidate:{n} 1 udp 2122260223 10.0.0.{n} 5000{n} typ host",
                        "sdpMid": "0",
                        "sdpMLineIndex": 0,
                    }
                    await second.send(json.dumps({"type": "ice", "payload": candidate, "to": agent_id}))
                    assert await frame(first) == {"type": "ice", "from": target_id, "payload": candidate}

                ended = await gw.post(f"/api/telephony/calls/{call_id}/end", headers=agent)
                assert ended.status_code == 200, ended.text
                assert await closed_with(first) == 4410, "the room closes when the call ends"
                assert await closed_with(second) == 4410

        for auth in (agent, target):
            me = (await gw.get("/api/telephony/agents/me", headers=auth)).json()
            assert me["status"] == "available" and me["current_call_id"] is None
        with pytest.raises(InvalidStatus) as gone:  # an ended call's room cannot be joined again
            async with connect(room, subprotocols=["bearer", agent_token]):  # type: ignore[list-item]
                pass
        assert gone.value.response.status_code == 410, "the service's refusal passes through the gateway"
