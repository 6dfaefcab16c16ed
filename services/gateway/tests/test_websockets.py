"""WebSockets through the gateway with a real client (websockets) to a real upstream process."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from .conftest import Gateway


def wait_for_log(gateway: Gateway, text: str, within: float = 10.0) -> str:
    """The gateway's log once it contains ``text`` (polled every 50 ms)."""
    deadline = time.monotonic() + within
    log = gateway.log_text()
    while text not in log and time.monotonic() < deadline:
        time.sleep(0.05)
        log = gateway.log_text()
    return log


def ws_url(gateway: Gateway, path: str) -> str:
    return gateway.url.replace("http://", "ws://") + path


async def test_echo_with_the_token_in_the_subprotocol(gateway: Gateway) -> None:
    user, session = str(uuid.uuid4()), str(uuid.uuid4())
    token = gateway.token(sub=user, sid=session)
    async with connect(ws_url(gateway, "/ws/omnichannel/chat/room-7"), subprotocols=["bearer", token]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "bearer"
        hello = json.loads(await ws.recv())
        assert hello["room"] == "room-7"
        assert hello["headers"]["authorization"] == f"Bearer {token}"
        assert hello["headers"]["x-aintech-identity"].startswith("v1.")
        for text in ("hola", "¿qué tal?", "x" * 10_000):
            await ws.send(text)
            assert await ws.recv() == f"echo:{text}"


async def test_the_softphone_form_bearer_dot_token_beside_the_channel_protocol(gateway: Gateway) -> None:
    """The form docs/telephony.md gives browsers: the token is taken, never offered onwards."""
    token = gateway.token()
    offered: Any = ["aintech.signalling", f"bearer.{token}"]
    async with connect(ws_url(gateway, "/ws/omnichannel/chat/room-8"), subprotocols=offered) as ws:
        assert ws.subprotocol == "aintech.signalling", "the service's choice among the channel's own"
        hello = json.loads(await ws.recv())
        assert hello["headers"]["authorization"] == f"Bearer {token}"
    with pytest.raises(InvalidStatus) as refused:
        no_token: Any = ["aintech.signalling"]
        async with connect(ws_url(gateway, "/ws/omnichannel/chat/room-8"), subprotocols=no_token):
            pass
    assert refused.value.response.status_code == 401


async def test_a_token_in_the_query_works_and_reaches_neither_the_service_nor_the_log(
    gateway: Gateway,
) -> None:
    token = gateway.token()
    async with connect(ws_url(gateway, f"/ws/omnichannel/chat/lobby?lang=es&access_token={token}")) as ws:
        hello = json.loads(await ws.recv())
        assert hello["query"] == "lang=es", "the service never sees the token in its URL"
        await ws.send("ping")
        assert await ws.recv() == "echo:ping"
    log = await asyncio.to_thread(wait_for_log, gateway, "websocket_closed")
    assert "websocket_closed" in log
    assert token not in log
    assert token.split(".")[2] not in log


async def test_close_codes_pass_through_both_ways(gateway: Gateway) -> None:
    token = gateway.token()
    async with connect(ws_url(gateway, "/ws/omnichannel/chat/a"), subprotocols=["bearer", token]) as ws:  # type: ignore[list-item]
        await ws.recv()
        await ws.send("close:4003")
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4003
    assert closed.value.rcvd.reason == "asked to"

    room = f"r-{uuid.uuid4().hex[:8]}"
    async with connect(ws_url(gateway, f"/ws/omnichannel/chat/{room}"), subprotocols=["bearer", token]) as ws:  # type: ignore[list-item]
        await ws.recv()
        await ws.close(code=4001, reason="bye")
    seen: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=gateway.service_url("omnichannel")) as stand_in:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(c["room"] == room for c in seen):
            await asyncio.sleep(0.05)  # the stand-in records the close once its handler returns
            seen = (await stand_in.get("/ws-closes")).json()
    assert {"room": room, "code": 4001} in seen


async def test_bad_tokens_and_unknown_channels_are_refused_on_upgrade(gateway: Gateway) -> None:
    cases: list[tuple[str, list[str] | None, int]] = [
        ("/ws/omnichannel/chat/a", None, 401),
        ("/ws/omnichannel/chat/a", ["bearer", "junk"], 401),
        ("/ws/omnichannel/chat/a", ["bearer", gateway.token(expires_in=-60)], 401),
        ("/ws/omnichannel/secret-admin/a", ["bearer", gateway.token()], 404),
        ("/ws/payroll/chat/a", ["bearer", gateway.token()], 404),
    ]
    for path, protocols, status in cases:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(ws_url(gateway, path), subprotocols=protocols):  # type: ignore[arg-type]
                pass
        response = refused.value.response
        assert response.status_code == status, path
        assert response.headers["content-type"] == "application/problem+json"


async def test_an_idle_socket_is_closed_with_1001(gateway: Gateway) -> None:
    token = gateway.token()
    started = time.monotonic()
    async with connect(ws_url(gateway, "/ws/omnichannel/chat/idle"), subprotocols=["bearer", token]) as ws:  # type: ignore[list-item]
        await ws.recv()
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 15)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert 1.5 <= time.monotonic() - started < 15, "closed after GATEWAY_WS_IDLE_TIMEOUT (2 s in tests)"


async def test_a_revoked_session_loses_its_open_socket(gateway: Gateway, revoke: Callable[..., Any]) -> None:
    sid = str(uuid.uuid4())
    token = gateway.token(sid=sid)
    async with connect(ws_url(gateway, "/ws/omnichannel/chat/r"), subprotocols=["bearer", token]) as ws:  # type: ignore[list-item]
        await ws.recv()
        await revoke(gateway.kafka_bootstrap, [sid])
        with pytest.raises(ConnectionClosed) as closed:
            while True:  # keep the socket busy so the idle timeout is not what closes it
                await ws.send("still here")
                await asyncio.wait_for(ws.recv(), 10)
                await asyncio.sleep(0.2)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
