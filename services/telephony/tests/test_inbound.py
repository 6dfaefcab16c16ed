"""Inbound calls: identification from the read model, the IVR, queueing, routing, accept, hang-ups."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from aintech_contracts.events.crm import ClaimCreated, CustomerCreated
from aintech_contracts.rbac import Role
from aintech_devtools.testing import TestKeys, rolled_back

from .conftest import (
    ACCOUNT_SID,
    Api,
    FakeTwilio,
    hide_committed_rows,
    inbound_params,
    make_settings,
    new_call_sid,
    query_of,
    started_app,
    twiml,
)


async def known_customer(
    api: Api, phone: str, *, segment: str | None = None, claim: bool = False
) -> uuid.UUID:
    customer_id = uuid.uuid4()
    await api.crm_event(
        CustomerCreated(
            customer_id=customer_id,
            customer_type="individual",
            first_name="Lucía",
            last_name="Martín",
            phone=phone,
            segment=segment,
            status="active",
        )
    )
    if claim:
        await api.crm_event(
            ClaimCreated(
                claim_id=uuid.uuid4(),
                claim_number="SIN-2026-0001",
                claim_type="auto",
                status="submitted",
                customer_id=customer_id,
                policy_id=uuid.uuid4(),
                policy_number="POL-1",
                incident_date=datetime(2026, 11, 20, 10, tzinfo=UTC),
                description="Golpe en el parking",
            )
        )
    return customer_id


async def ring(api: Api, caller: str, sid: str | None = None) -> tuple[str, str]:
    """Twilio's first request for a new inbound call; returns (call id, CallSid)."""
    sid = sid or new_call_sid()
    response = await api.webhook("incoming", inbound_params(sid, caller))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    gather = twiml(response.text).find("Gather")
    assert gather is not None, response.text
    return query_of(gather.get("action", ""))["call_id"], sid


async def choose(api: Api, call_id: str, sid: str, digits: str) -> str:
    params = {**inbound_params(sid, "+34600000000", "in-progress"), "Digits": digits}
    response = await api.webhook("ivr", params, query={"call_id": call_id})
    assert response.status_code == 200, response.text
    return response.text


async def test_incoming_call_greets_a_known_customer_by_name_with_the_menu(api: Api) -> None:
    customer_id = await known_customer(api, "+34612000111")
    sid = new_call_sid()
    response = await api.webhook("incoming", inbound_params(sid, "+34612000111"))
    root = twiml(response.text)
    gather = root.find("Gather")
    assert gather is not None and gather.get("numDigits") == "1"
    spoken = " ".join(s.text or "" for s in gather.iter("Say"))
    assert "Hola Lucía" in spoken and "pulse 1" in spoken
    redirect = root.find("Redirect")
    assert redirect is not None and "/webhooks/twilio/voice/ivr?call_id=" in (redirect.text or "")
    call_id = query_of(gather.get("action", ""))["call_id"]
    row = await api.row("SELECT customer_id, direction, status FROM telephony.calls WHERE id = :i", i=call_id)
    assert row == {"customer_id": customer_id, "direction": "inbound", "status": "ringing"}
    [initiated] = await api.events("call.initiated", key=call_id)
    assert initiated["data"]["customer_id"] == str(customer_id)

    replay = await api.webhook("incoming", inbound_params(sid, "+34612000111"))
    assert replay.text == response.text
    assert len(await api.events("call.initiated")) == 1, "a replayed webhook records nothing new"


async def test_unknown_caller_chooses_claims_and_waits_in_the_queue_with_position(api: Api) -> None:
    call_id, sid = await ring(api, "+34699111222")
    answer = twiml(await choose(api, call_id, sid, "1"))
    conference = answer.find("Dial/Conference")
    assert conference is not None and conference.text == f"call-{call_id}"
    assert conference.get("startConferenceOnEnter") == "false"
    assert query_of(conference.get("waitUrl", "")) == {"call_id": call_id}
    said = " ".join(s.text or "" for s in answer.iter("Say"))
    assert "posición en la cola es la número 1" in said

    [added] = await api.events("queue.call_added", key=call_id)
    assert added["data"]["department"] == "claims" and added["data"]["priority"] == "high"
    assert added["data"]["position"] == 1

    second_id, second_sid = await ring(api, "+34699111333")
    await choose(api, second_id, second_sid, "2")
    wait = await api.webhook(
        "wait", inbound_params(second_sid, "+34699111333", "in-progress"), query={"call_id": second_id}
    )
    hold = twiml(wait.text)
    assert "la número 2" in (hold.findtext("Say") or "")
    assert (hold.findtext("Play") or "").endswith(".mp3")

    agent = api.person()
    queue = (await api.client.get("/queue", headers=agent.auth)).json()
    assert [i["call_id"] for i in queue["items"]] == [call_id, second_id]
    assert queue["waiting"] == 2


async def test_open_claim_and_vip_segment_raise_the_priority(api: Api) -> None:
    await known_customer(api, "+34612000222", segment="VIP", claim=True)
    await known_customer(api, "+34612000333", segment="vip")
    first, sid1 = await ring(api, "+34612000222")
    await choose(api, first, sid1, "1")
    second, sid2 = await ring(api, "+34612000333")
    await choose(api, second, sid2, "2")
    third, sid3 = await ring(api, "+34612000444")
    await choose(api, third, sid3, "7")
    priorities = {e["data"]["call_id"]: e["data"]["priority"] for e in await api.events("queue.call_added")}
    assert priorities == {first: "urgent", second: "high", third: "low"}
    departments = {
        e["data"]["call_id"]: e["data"]["department"] for e in await api.events("queue.call_added")
    }
    assert departments[third] == "other"


async def test_free_agent_gets_the_call_at_once_and_accepts_it(api: Api) -> None:
    agent = await api.available_agent()
    call_id, sid = await ring(api, "+34699222333")
    answer = twiml(await choose(api, call_id, sid, "3"))
    assert "Le pasamos con un agente" in " ".join(s.text or "" for s in answer.iter("Say"))
    [assigned] = await api.events("queue.call_assigned", key=call_id)
    assert assigned["data"]["agent_id"] == str(agent.user_id)
    me = (await api.client.get("/agents/me", headers=agent.auth)).json()
    assert me["status"] == "busy" and me["current_call_id"] == call_id

    other = await api.available_agent()
    assert (await api.client.post(f"/calls/{call_id}/accept", headers=other.auth)).status_code == 403
    accepted = await api.client.post(f"/calls/{call_id}/accept", headers=agent.auth)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "in-progress" and accepted.json()["answered_at"]
    assert len(await api.events("call.answered", key=call_id)) == 1
    assert (await api.client.post(f"/calls/{call_id}/accept", headers=agent.auth)).status_code == 409

    joined = await api.webhook(
        "client",
        {
            "AccountSid": ACCOUNT_SID,
            "CallSid": "CA" + "f" * 32,
            "From": f"client:{agent.user_id}",
            "callId": call_id,
        },
    )
    conference = twiml(joined.text).find("Dial/Conference")
    assert conference is not None and conference.text == f"call-{call_id}"
    assert conference.get("startConferenceOnEnter") == "true"
    intruder = await api.webhook(
        "client",
        {
            "AccountSid": ACCOUNT_SID,
            "CallSid": "CA" + "e" * 32,
            "From": f"client:{other.user_id}",
            "callId": call_id,
        },
    )
    assert twiml(intruder.text).find("Dial") is None and twiml(intruder.text).find("Hangup") is not None


async def test_caller_goes_to_the_agent_who_handled_them_last(api: Api) -> None:
    await known_customer(api, "+34612000555")
    first_agent = await api.available_agent()
    previous, sid = await ring(api, "+34612000555")
    await choose(api, previous, sid, "2")
    await api.client.post(f"/calls/{previous}/accept", headers=first_agent.auth)
    await api.client.post(f"/calls/{previous}/end", headers=first_agent.auth)
    longest_idle = await api.available_agent()
    await api.client.post("/agents/status", json={"status": "away"}, headers=first_agent.auth)
    await api.client.post("/agents/status", json={"status": "available"}, headers=first_agent.auth)
    # longest_idle has waited longer; the returning customer still goes to first_agent.
    again, sid2 = await ring(api, "+34612000555")
    await choose(api, again, sid2, "2")
    [assigned] = await api.events("queue.call_assigned", key=again)
    assert assigned["data"]["agent_id"] == str(first_agent.user_id)
    assert assigned["data"]["routed_to_last_agent"] is True
    assert (await api.client.get("/agents/me", headers=longest_idle.auth)).json()["status"] == "available"


async def test_caller_who_hangs_up_while_waiting_leaves_the_queue(api: Api) -> None:
    call_id, sid = await ring(api, "+34699333444")
    await choose(api, call_id, sid, "2")
    hangup = {**inbound_params(sid, "+34699333444", "completed"), "CallDuration": "65"}
    assert (await api.webhook("status", hangup)).status_code == 204
    [abandoned] = await api.events("queue.call_abandoned", key=call_id)
    assert abandoned["data"]["department"] == "sales"
    [ended] = await api.events("call.ended", key=call_id)
    assert ended["data"]["outcome"] == "abandoned" and ended["data"]["duration_seconds"] == 65
    [logged] = await api.events("interaction.logged")
    assert logged["data"]["direction"] == "inbound" and logged["data"]["outcome"] == "abandoned"
    assert logged["data"]["subject"] == "Llamada entrante (ventas)"
    agent = api.person()
    assert (await api.client.get("/queue", headers=agent.auth)).json()["waiting"] == 0
    assert (await api.webhook("status", hangup)).status_code == 204
    assert len(await api.events("queue.call_abandoned")) == 1


@pytest.fixture
async def closed(app: FastAPI, keys: TestKeys, fake_twilio: FakeTwilio) -> AsyncIterator[Api]:
    settings = make_settings(fake_twilio, office_days=[], office_opens=time(9), office_closes=time(19))
    closed_app, lifespan = await started_app(settings, keys)
    try:
        async with (
            rolled_back(closed_app.state.db) as conn,
            AsyncClient(
                transport=ASGITransport(app=closed_app), base_url="http://telephony.internal"
            ) as client,
        ):
            await hide_committed_rows(conn)
            yield Api(client=client, conn=conn, keys=keys, fake=fake_twilio, app=closed_app)
    finally:
        await lifespan.__aexit__(None, None, None)


async def test_outside_office_hours_the_caller_leaves_a_transcribed_voicemail(closed: Api) -> None:
    sid = new_call_sid()
    response = await closed.webhook("incoming", inbound_params(sid, "+34699444555"))
    root = twiml(response.text)
    assert "Nuestro horario" in (root.findtext("Say") or "")
    record = root.find("Record")
    assert record is not None and record.get("transcribe") == "true"
    call_id = query_of(record.get("recordingStatusCallback", ""))["call_id"]
    assert root.find("Gather") is None and root.find("Hangup") is not None

    recording = {
        "AccountSid": ACCOUNT_SID,
        "CallSid": sid,
        "RecordingSid": "RE" + "1" * 32,
        "RecordingStatus": "completed",
        "RecordingDuration": "12",
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/RE{'1' * 32}",
    }
    assert (await closed.webhook("recording", recording, query={"call_id": call_id})).status_code == 204
    transcript = {"CallSid": sid, "TranscriptionStatus": "completed", "TranscriptionText": "Llámenme mañana."}
    assert (await closed.webhook("transcription", transcript, query={"call_id": call_id})).status_code == 204
    done = await closed.webhook("voicemail", {"CallSid": sid}, query={"call_id": call_id})
    assert twiml(done.text).find("Hangup") is not None
    await closed.webhook("status", {**inbound_params(sid, "+34699444555", "completed"), "CallDuration": "20"})

    [available] = await closed.events("call.recording_available", key=call_id)
    assert available["data"]["voicemail"] is True and available["data"]["transcription_requested"] is True
    [logged] = await closed.events("interaction.logged")
    assert logged["data"]["outcome"] == "voicemail" and logged["data"]["summary"] == "Llámenme mañana."
    assert logged["data"]["recording_url"].endswith("RE" + "1" * 32)


async def test_the_agents_softphone_joining_connects_the_call(api: Api) -> None:
    agent = await api.available_agent()
    call_id, sid = await ring(api, "+34699222444")
    await choose(api, call_id, sid, "1")
    joined = {
        "AccountSid": ACCOUNT_SID,
        "ConferenceSid": "CF" + "1" * 32,
        "StatusCallbackEvent": "participant-join",
    }
    await api.webhook("conference", {**joined, "CallSid": sid}, query={"call_id": call_id})
    assert await api.events("call.answered") == [], "the customer alone in the conference is not a connection"
    await api.webhook("conference", {**joined, "CallSid": "CA" + "2" * 32}, query={"call_id": call_id})
    await api.webhook("conference", {**joined, "CallSid": "CA" + "2" * 32}, query={"call_id": call_id})
    [answered] = await api.events("call.answered", key=call_id)
    assert answered["data"]["agent_id"] == str(agent.user_id)
    got = (await api.client.get(f"/calls/{call_id}", headers=agent.auth)).json()
    assert got["status"] == "in-progress" and got["answered_at"] is not None
    assert (await api.client.post(f"/calls/{call_id}/accept", headers=agent.auth)).status_code == 409


async def test_a_supervisor_can_end_a_waiting_inbound_call(api: Api) -> None:
    call_id, sid = await ring(api, "+34699222555")
    await choose(api, call_id, sid, "2")
    agent = await api.available_agent()
    await api.client.post("/agents/status", json={"status": "away"}, headers=agent.auth)
    assert (await api.client.post(f"/calls/{call_id}/end", headers=agent.auth)).status_code == 403
    supervisor = api.person(Role.supervisor)
    ended = await api.client.post(f"/calls/{call_id}/end", headers=supervisor.auth)
    assert ended.status_code == 200, ended.text
    [hangup] = api.fake.made(f"/Calls/{sid}.json")
    assert hangup.form == {"Status": "completed"}, "Twilio hangs up a live inbound call with completed"
    assert ended.json()["status"] == "completed" and ended.json()["outcome"] == "abandoned"
    assert len(await api.events("queue.call_abandoned", key=call_id)) == 1


async def test_a_number_two_customers_share_leaves_the_call_unmatched(api: Api) -> None:
    """A customer who typed in someone else's number must not become that caller: a shared number
    identifies nobody, the call is unmatched and an agent chooses."""
    number = "+34612" + str(uuid.uuid4().int)[:6]
    await known_customer(api, number)
    await api.crm_event(
        CustomerCreated(
            customer_id=uuid.uuid4(),
            customer_type="individual",
            first_name="Impostor",
            last_name="X",
            mobile=number,
            status="active",
            user_id=uuid.uuid4(),
        )
    )
    response = await api.webhook("incoming", inbound_params(new_call_sid(), number))
    root = twiml(response.text)
    spoken = " ".join(s.text or "" for s in root.iter("Say"))
    assert "Impostor" not in spoken and "Lucía" not in spoken
    gather = root.find("Gather")
    assert gather is not None, response.text
    call_id = query_of(gather.get("action", ""))["call_id"]
    row = await api.row("SELECT customer_id FROM telephony.calls WHERE id = :i", i=call_id)
    assert row == {"customer_id": None}
