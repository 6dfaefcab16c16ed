"""Live chat over real WebSockets on two replicas: persisted then broadcast, typing, agent joined,
closed, heartbeat, resume from the last sequence number with nothing lost or doubled."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError
from websockets.exceptions import InvalidStatus

from aintech_contracts.rbac import Role
from omnichannel.settings import Settings

from .conftest import Api, Person, ThreadedServer, build_app, make_settings
from .sockets import Socket, ws_url


async def start_chat(api: Api, customer: Person) -> str:
    response = await api.client.post("/chat/conversations", json={}, headers=customer.auth)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def online(api: Api, agent: Person) -> None:
    response = await api.client.put(
        "/agents/me/presence", json={"status": "online", "capacity": 5}, headers=agent.auth
    )
    assert response.status_code == 200


async def test_messages_are_stored_then_broadcast_to_a_room_spread_over_two_replicas(
    api: Api, replicas: list[str]
) -> None:
    customer, agent = api.person(Role.customer), api.person(Role.agent)
    await online(api, agent)
    cid = await start_chat(api, customer)
    one, two = replicas
    customer_ws = await Socket.open(ws_url(one, f"/ws/chat/{cid}"), customer.token)
    agent_ws = await Socket.open(ws_url(two, f"/ws/chat/{cid}"), agent.token, header=True)
    try:
        hello = await customer_ws.until(lambda f: f["type"] == "hello")
        assert hello["conversation"]["assignee_id"] == str(agent.user_id)
        joined = await customer_ws.until(lambda f: f["type"] == "agent_joined")
        assert joined["message"]["sender_id"] == str(agent.user_id)

        await customer_ws.send({"type": "message", "body": "Hola, tengo un siniestro", "client_id": "c-1"})
        ack = await customer_ws.until(lambda f: f["type"] == "ack")
        at_agent = await agent_ws.until(lambda f: f["type"] == "message")
        assert at_agent["seq"] == ack["seq"]
        assert at_agent["message"]["body"] == "Hola, tengo un siniestro"
        assert at_agent["message"]["sender_type"] == "customer"
        stored = await api.sql(
            "SELECT seq, body FROM omnichannel.messages WHERE id = :i", i=ack["message_id"]
        )
        assert stored == [{"seq": ack["seq"], "body": "Hola, tengo un siniestro"}], (
            "broadcast only after commit"
        )

        await agent_ws.send({"type": "typing", "typing": True})
        typing = await customer_ws.until(lambda f: f["type"] == "typing")
        assert typing == {
            "type": "typing",
            "sender_type": "agent",
            "user_id": str(agent.user_id),
            "typing": True,
        }
        await agent_ws.send({"type": "message", "body": "Cuénteme, ¿qué ha pasado?"})
        reply = await customer_ws.until(
            lambda f: f["type"] == "message" and f["message"]["sender_type"] == "agent"
        )
        assert reply["seq"] == ack["seq"] + 1

        closed = await api.client.post(f"/chat/conversations/{cid}/close", headers=agent.auth)
        assert closed.json()["status"] == "resolved"
        assert (await customer_ws.until(lambda f: f["type"] == "closed"))["seq"] == reply["seq"] + 1
        logged = await api.sql(
            "SELECT count(*) AS n FROM omnichannel.outbox WHERE event_type = 'interaction.logged'"
        )
        assert logged[0]["n"] == 2, "each chat message is on the CRM timeline"
    finally:
        await customer_ws.close()
        await agent_ws.close()


async def test_a_reconnecting_client_resumes_from_its_last_seq_with_nothing_lost_or_doubled(
    api: Api, replicas: list[str]
) -> None:
    customer, agent = api.person(Role.customer), api.person(Role.agent)
    cid = await start_chat(api, customer)
    for n in range(3):
        await api.client.post(
            f"/chat/conversations/{cid}/messages", json={"body": f"m{n}"}, headers=customer.auth
        )
    first = await Socket.open(ws_url(replicas[0], f"/ws/chat/{cid}?after=0"), customer.token)
    seen = await first.messages(3)
    last = seen[-1]["seq"]
    await first.close()

    for n in range(3, 6):  # while the customer is away, on the other replica
        await api.client.post(
            f"/chat/conversations/{cid}/messages", json={"body": f"m{n}"}, headers=agent.auth
        )
    again = await Socket.open(ws_url(replicas[1], f"/ws/chat/{cid}?after={last}"), customer.token)
    try:
        missed = await again.messages(3)
        assert [m["message"]["body"] for m in missed] == ["m3", "m4", "m5"]
        stored = await api.sql(
            "SELECT seq FROM omnichannel.messages WHERE conversation_id = :c AND seq > :s ORDER BY seq",
            c=cid,
            s=last,
        )
        replayed = [f["seq"] for f in again.seen if "seq" in f]
        assert replayed == [r["seq"] for r in stored], (
            "the agent_joined event and m3..m5, each once, in order"
        )
        last = replayed[-1]

        async def post(n: int) -> None:
            await api.client.post(
                f"/chat/conversations/{cid}/messages", json={"body": f"m{n}"}, headers=agent.auth
            )

        await asyncio.gather(*(post(n) for n in range(6, 16)))
        live = await again.messages(10)
        seqs = [m["seq"] for m in live]
        assert seqs == list(range(last + 1, last + 11)), "live messages arrive once each, in order"
        with pytest.raises(AssertionError):  # and nothing more: no duplicate arrives afterwards
            await again.until(lambda f: f["type"] == "message", within=0.5)
    finally:
        await again.close()


async def test_a_resent_client_id_is_stored_once(api: Api, replicas: list[str]) -> None:
    customer = api.person(Role.customer)
    cid = await start_chat(api, customer)
    ws = await Socket.open(ws_url(replicas[0], f"/ws/chat/{cid}"), customer.token)
    try:
        await ws.send({"type": "message", "body": "¿Hola?", "client_id": "retry-1"})
        first = await ws.until(lambda f: f["type"] == "ack")
        await ws.send({"type": "message", "body": "¿Hola?", "client_id": "retry-1"})
        second = await ws.until(lambda f: f["type"] == "ack")
        assert first["message_id"] == second["message_id"] and first["seq"] == second["seq"]
        rest = await api.client.post(
            f"/chat/conversations/{cid}/messages",
            json={"body": "¿Hola?", "client_id": "retry-1"},
            headers=customer.auth,
        )
        assert rest.json()["id"] == first["message_id"]
        rows = await api.sql("SELECT count(*) AS n FROM omnichannel.messages WHERE client_id = 'retry-1'")
        assert rows[0]["n"] == 1
        await ws.send({"type": "message", "body": "x" * 4001})
        invalid = await ws.until(lambda f: f["type"] == "error")
        assert invalid["code"] == "invalid"
    finally:
        await ws.close()


async def test_an_agent_opening_a_queued_chat_joins_it(api: Api, replicas: list[str]) -> None:
    customer, agent = api.person(Role.customer), api.person(Role.agent)
    cid = await start_chat(api, customer)  # nobody online: queued
    assert (await api.client.get(f"/conversations/{cid}", headers=agent.auth)).json()["assignee_id"] is None
    customer_ws = await Socket.open(ws_url(replicas[0], f"/ws/chat/{cid}"), customer.token)
    agent_ws = await Socket.open(ws_url(replicas[1], f"/ws/chat/{cid}"), agent.token)
    try:
        joined = await customer_ws.until(lambda f: f["type"] == "agent_joined")
        assert joined["message"]["sender_id"] == str(agent.user_id)
        updates = [f for f in customer_ws.seen if f["type"] == "conversation"]
        assert updates and updates[-1]["assignee_id"] == str(agent.user_id)
    finally:
        await customer_ws.close()
        await agent_ws.close()


async def test_sockets_refuse_missing_tokens_and_other_customers_chats(api: Api, replicas: list[str]) -> None:
    owner, stranger = api.person(Role.customer), api.person(Role.customer)
    cid = await start_chat(api, owner)
    with pytest.raises(InvalidStatus) as refused:
        await Socket.open(ws_url(replicas[0], f"/ws/chat/{cid}"), "not-a-token")
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as not_theirs:
        await Socket.open(ws_url(replicas[0], f"/ws/chat/{cid}"), stranger.token)
    assert not_theirs.value.response.status_code == 403
    assert (
        await api.client.post(
            f"/chat/conversations/{cid}/messages", json={"body": "x"}, headers=stranger.auth
        )
    ).status_code == 404


async def test_heartbeat_pings_and_closes_a_silent_client(api: Api, keys: Any, settings: Any) -> None:
    # Heartbeats of 2 s: the answering client may stall up to 6 s (a loaded machine) and stay.
    quick = make_settings(api.twilio, api.sendgrid, api.signer, chat_heartbeat_seconds=2.0)
    server = ThreadedServer(build_app(quick, keys), lifespan="on")
    server.start()
    try:
        customer = api.person(Role.customer)
        cid = await start_chat(api, customer)
        lively = await Socket.open(ws_url(server.url, f"/ws/chat/{cid}"), customer.token)

        async def keep_answering() -> None:
            with pytest.raises(AssertionError):  # answers every ping for 8 s, expects nothing else
                await lively.until(lambda f: f["type"] not in ("hello",), within=8)

        answering = asyncio.create_task(keep_answering())
        silent = await Socket.open(ws_url(server.url, f"/ws/chat/{cid}"), customer.token)
        frames = [str(await asyncio.wait_for(silent.connection.recv(), timeout=30)) for _ in range(2)]
        assert '"hello"' in frames[0] and '"ping"' in frames[1]
        await asyncio.wait_for(silent.connection.wait_closed(), timeout=30)
        assert silent.connection.close_code == 1001, "a client silent for three heartbeats is closed"
        await answering
        assert lively.connection.close_code is None, "a client answering pings stays connected"
        await lively.close()
    finally:
        server.stop()


async def test_the_customer_page_is_served_with_a_strict_policy(api: Api) -> None:
    page = await api.client.get("/chat/widget")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "new WebSocket" in page.text
    policy = dict(d.split(" ", 1) for d in page.headers["content-security-policy"].split("; "))
    assert policy["default-src"] == "'none'" and policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'self'", "no embedding site configured: only the platform"
    assert policy["script-src"].startswith("'sha256-") and "unsafe" not in policy["script-src"]
    assert policy["form-action"] == "'none'", "the sign-in form never submits its password in a URL"


def test_widget_origins_are_exact_origins() -> None:
    assert Settings(widget_origins=["https://WWW.aintech.es/", "http://127.0.0.1:3000"]).widget_origins == [
        "https://www.aintech.es",
        "http://127.0.0.1:3000",
    ]
    for wide in ("*", "https://*.aintech.es", "https:", "https://aintech.es/chat", "aintech.es", "'self'"):
        with pytest.raises(ValidationError):
            Settings(widget_origins=[wide])
