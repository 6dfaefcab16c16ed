"""The unified inbox: one list across channels, statuses, labels, notes, access, and round-robin
assignment to online agents within capacity, with queued conversations taken as agents free up."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aintech_contracts.rbac import Role
from omnichannel.conversations import service as conversations

from .conftest import Api, Person


def phone() -> str:
    return "+346" + str(uuid.uuid4().int)[:8]


async def online(api: Api, capacity: int) -> Person:
    agent = api.person(Role.agent)
    response = await api.client.put(
        "/agents/me/presence", json={"status": "online", "capacity": capacity}, headers=agent.auth
    )
    assert response.status_code == 200, response.text
    return agent


async def conversation_of(api: Api, address: str) -> dict[str, Any]:
    rows = await api.sql("SELECT * FROM omnichannel.conversations WHERE address = :a", a=address)
    assert len(rows) == 1
    return rows[0]


async def test_round_robin_within_capacity_and_the_queue_drains_when_an_agent_frees_up(api: Api) -> None:
    first, second = await online(api, 1), await online(api, 1)
    numbers = [phone() for _ in range(3)]
    for number in numbers:
        assert (await api.inbound(number, "Hola")).status_code == 200
    assigned = [(await conversation_of(api, n))["assignee_id"] for n in numbers]
    assert set(assigned[:2]) == {first.user_id, second.user_id}, "round robin gives one to each"
    assert assigned[2] is None, "nobody had room: the third waits in the queue"
    queue = (await api.client.get("/conversations?unassigned=true&status=open", headers=first.auth)).json()
    assert [c["address"] for c in queue["items"]] == [numbers[2]]

    mine = next(n for n, a in zip(numbers, assigned, strict=True) if a == first.user_id)
    conversation_id = (await conversation_of(api, mine))["id"]
    resolved = await api.client.patch(
        f"/conversations/{conversation_id}", json={"status": "resolved"}, headers=first.auth
    )
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert (await conversation_of(api, numbers[2]))["assignee_id"] == first.user_id, (
        "queued work taken at once"
    )


async def test_concurrent_inbound_messages_never_push_an_agent_over_capacity(api: Api) -> None:
    agent = await online(api, 2)
    numbers = [phone() for _ in range(8)]
    responses = await asyncio.gather(*(api.inbound(n, "¿Me atienden?") for n in numbers))
    assert all(r.status_code == 200 for r in responses)
    rows = await api.sql(
        "SELECT assignee_id, count(*) AS n FROM omnichannel.conversations WHERE address = ANY(:a) GROUP BY 1",
        a=numbers,
    )
    counts = {r["assignee_id"]: r["n"] for r in rows}
    assert counts == {agent.user_id: 2, None: 6}


async def test_going_online_or_raising_capacity_takes_waiting_conversations(api: Api) -> None:
    numbers = [phone() for _ in range(3)]
    for number in numbers:
        await api.inbound(number, "Hola")
    agent = await online(api, 1)
    assert (await conversation_of(api, numbers[0]))["assignee_id"] == agent.user_id, "oldest first"
    supervisor = api.person(Role.supervisor)
    raised = await api.client.put(
        f"/agents/{agent.user_id}/capacity", json={"capacity": 3}, headers=supervisor.auth
    )
    assert raised.status_code == 200
    assert {(await conversation_of(api, n))["assignee_id"] for n in numbers} == {agent.user_id}
    listed = (await api.client.get("/agents", headers=agent.auth)).json()
    assert [(a["user_id"], a["active_conversations"]) for a in listed] == [(str(agent.user_id), 3)]
    denied = await api.client.put(
        f"/agents/{agent.user_id}/capacity", json={"capacity": 9}, headers=agent.auth
    )
    assert denied.status_code == 403


async def test_one_inbox_across_channels_with_statuses_labels_and_private_notes(api: Api) -> None:
    agent = api.person(Role.agent)
    number, sms_number = phone(), phone()
    await api.inbound("whatsapp:" + number, "Por WhatsApp")
    await api.inbound(sms_number, "Por SMS")
    customer = api.person(Role.customer)
    chat = await api.client.post("/chat/conversations", json={}, headers=customer.auth)
    assert chat.status_code == 200, chat.text
    await api.client.post(
        f"/chat/conversations/{chat.json()['id']}/messages", json={"body": "Por chat"}, headers=customer.auth
    )

    inbox = (await api.client.get("/conversations", headers=agent.auth)).json()
    assert {c["channel"] for c in inbox["items"]} == {"whatsapp", "sms", "chat"}
    assert inbox["items"][0]["last_message_preview"] == "Por chat", "most recent activity first"
    whatsapp = (await api.client.get("/conversations?channel=whatsapp", headers=agent.auth)).json()["items"]
    assert [c["address"] for c in whatsapp] == [number]

    cid = whatsapp[0]["id"]
    labelled = await api.client.patch(
        f"/conversations/{cid}", json={"labels": ["Renovación", "hogar"]}, headers=agent.auth
    )
    assert labelled.json()["labels"] == ["hogar", "renovación"]
    by_label = (await api.client.get("/conversations?label=hogar", headers=agent.auth)).json()["items"]
    assert [c["id"] for c in by_label] == [cid]
    pending = await api.client.patch(f"/conversations/{cid}", json={"status": "pending"}, headers=agent.auth)
    assert pending.json()["status"] == "pending"
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    assert (
        await api.client.patch(
            f"/conversations/{cid}", json={"status": "snoozed", "snoozed_until": past}, headers=agent.auth
        )
    ).status_code == 422
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    snoozed = await api.client.patch(
        f"/conversations/{cid}", json={"status": "snoozed", "snoozed_until": future}, headers=agent.auth
    )
    assert snoozed.json()["status"] == "snoozed"
    await api.execute(
        "UPDATE omnichannel.conversations SET snoozed_until = now() - interval '1 second' WHERE id = :i",
        i=cid,
    )
    async with api.db.transaction() as session:
        assert await conversations.wake_snoozed(session) == 1
    assert (await api.client.get(f"/conversations/{cid}", headers=agent.auth)).json()["status"] == "open"

    note = await api.client.post(
        f"/conversations/{cid}/notes", json={"body": "Quiere comparar con AXA"}, headers=agent.auth
    )
    assert note.status_code == 201
    notes = (await api.client.get(f"/conversations/{cid}/notes", headers=agent.auth)).json()
    assert [n["body"] for n in notes] == ["Quiere comparar con AXA"]
    assert (await api.client.get(f"/conversations/{cid}/notes", headers=customer.auth)).status_code == 403
    bad_label = await api.client.patch(
        f"/conversations/{cid}", json={"labels": ["a\x00b"]}, headers=agent.auth
    )
    assert bad_label.status_code == 422


async def test_a_customer_reads_only_their_own_conversations(api: Api) -> None:
    owner_user, number = uuid.uuid4(), phone()
    await api.customer(mobile=number, user_id=owner_user)
    await api.inbound(number, "Mi consulta privada")
    owner = api.person(Role.customer, user_id=owner_user)
    stranger = api.person(Role.customer)
    cid = (await conversation_of(api, number))["id"]

    mine = (await api.client.get("/conversations", headers=owner.auth)).json()
    assert [c["id"] for c in mine["items"]] == [str(cid)]
    assert (await api.client.get("/conversations", headers=stranger.auth)).json()["items"] == []
    assert (await api.client.get(f"/conversations/{cid}", headers=stranger.auth)).status_code == 404
    assert (await api.client.get(f"/conversations/{cid}/messages", headers=stranger.auth)).status_code == 404
    own_messages = (await api.client.get(f"/conversations/{cid}/messages", headers=owner.auth)).json()
    assert [m["body"] for m in own_messages] == ["Mi consulta privada"]
    assert (
        await api.client.patch(f"/conversations/{cid}", json={"status": "resolved"}, headers=owner.auth)
    ).status_code == 403


async def test_a_resolved_conversation_reopens_on_the_next_message_and_replies_thread(
    api: Api, dispatcher: Any
) -> None:
    agent = await online(api, 5)
    sender = f"ana-{uuid.uuid4().hex[:8]}@example.com"
    number = phone()
    await api.inbound(number, "Primera")
    cid = (await conversation_of(api, number))["id"]
    await api.client.patch(f"/conversations/{cid}", json={"status": "resolved"}, headers=agent.auth)
    await api.inbound(number, "Otra pregunta")
    reopened = await conversation_of(api, number)
    assert reopened["status"] == "open" and reopened["resolved_at"] is None
    assert reopened["assignee_id"] == agent.user_id
    assert reopened["last_seq"] == 2, "the same conversation, not a new one"

    reply = await api.client.post(
        f"/conversations/{cid}/reply", json={"body": "Ahora le respondo"}, headers=agent.auth
    )
    assert reply.status_code == 202 and reply.json()["channel"] == "sms"
    await dispatcher.dispatch_once()
    assert api.twilio.to(number)[-1]["body"] == "Ahora le respondo"
    del sender


async def test_an_agent_cannot_take_a_colleagues_conversation_but_the_assignee_hands_it_over(
    api: Api,
) -> None:
    owner, thief = await online(api, 5), await online(api, 5)
    number = phone()
    await api.inbound(number, "Tengo una duda")
    conversation = await conversation_of(api, number)
    cid = conversation["id"]
    assert conversation["assignee_id"] in (owner.user_id, thief.user_id)
    if conversation["assignee_id"] != owner.user_id:
        owner, thief = thief, owner

    for body in ({"agent_id": str(thief.user_id)}, {"agent_id": None}):
        stolen = await api.client.post(f"/conversations/{cid}/assign", json=body, headers=thief.auth)
        assert stolen.status_code == 403, stolen.text
        assert stolen.headers["content-type"] == "application/problem+json"
        assert "colleague" in stolen.json()["detail"]
    assert (await conversation_of(api, number))["assignee_id"] == owner.user_id

    handed = await api.client.post(
        f"/conversations/{cid}/assign", json={"agent_id": str(thief.user_id)}, headers=owner.auth
    )
    assert handed.status_code == 200, handed.text
    assert handed.json()["assignee_id"] == str(thief.user_id), "the assignee may hand it over"

    supervisor = api.person(Role.supervisor)
    await api.client.put("/agents/me/presence", json={"status": "online", "capacity": 5}, headers=owner.auth)
    moved = await api.client.post(
        f"/conversations/{cid}/assign", json={"agent_id": str(owner.user_id)}, headers=supervisor.auth
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["assignee_id"] == str(owner.user_id), "a supervisor reassigns"
