"""Connected calls: hold with music, mute, recording, warm and cold transfers, and illegal transitions."""

from __future__ import annotations

from .conftest import ACCOUNT_SID, Api, Person, query_of, twiml
from .test_inbound import choose, ring

CONFERENCE = "CF" + "9" * 32
AGENT_LEG = "CA" + "8" * 32


async def connected_call(api: Api, caller: str = "+34699555666") -> tuple[str, str, Person]:
    """An inbound call answered by an agent, both legs in the call's conference."""
    agent = await api.available_agent()
    call_id, sid = await ring(api, caller)
    await choose(api, call_id, sid, "2")
    assert (await api.client.post(f"/calls/{call_id}/accept", headers=agent.auth)).status_code == 200
    for leg in (sid, AGENT_LEG):
        joined = {
            "AccountSid": ACCOUNT_SID,
            "ConferenceSid": CONFERENCE,
            "CallSid": leg,
            "StatusCallbackEvent": "participant-join",
        }
        assert (await api.webhook("conference", joined, query={"call_id": call_id})).status_code == 204
    return call_id, sid, agent


async def test_operations_on_a_call_not_yet_connected_are_conflicts(api: Api) -> None:
    agent = await api.available_agent()
    call_id, sid = await ring(api, "+34699555000")
    await choose(api, call_id, sid, "2")
    for path, body in (
        ("hold", {"on": True}),
        ("mute", {"on": True}),
        ("record", {"action": "start"}),
        ("transfer", {"to_number": "+34911222333"}),
    ):
        response = await api.client.post(f"/calls/{call_id}/{path}", json=body, headers=agent.auth)
        assert response.status_code == 409, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert api.fake.requests == []


async def test_hold_plays_music_to_the_customer_and_mute_silences_the_agent(api: Api) -> None:
    call_id, sid, agent = await connected_call(api)
    held = await api.client.post(f"/calls/{call_id}/hold", json={"on": True}, headers=agent.auth)
    assert held.status_code == 200 and held.json()["on_hold"] is True
    [hold] = api.fake.made(f"/Conferences/{CONFERENCE}/Participants/{sid}.json")
    assert hold.form["Hold"] == "true" and hold.form["HoldUrl"].endswith(".mp3")
    twice = await api.client.post(f"/calls/{call_id}/hold", json={"on": True}, headers=agent.auth)
    assert twice.status_code == 409
    resumed = await api.client.post(f"/calls/{call_id}/hold", json={"on": False}, headers=agent.auth)
    assert resumed.json()["on_hold"] is False

    muted = await api.client.post(f"/calls/{call_id}/mute", json={"on": True}, headers=agent.auth)
    assert muted.status_code == 200 and muted.json()["muted"] is True
    [mute] = api.fake.made(f"/Conferences/{CONFERENCE}/Participants/{AGENT_LEG}.json")
    assert mute.form == {"Muted": "true"}
    stranger = await api.available_agent()
    assert (
        await api.client.post(f"/calls/{call_id}/mute", json={"on": False}, headers=stranger.auth)
    ).status_code == 403


async def test_recording_starts_pauses_resumes_and_its_url_is_published(api: Api) -> None:
    call_id, sid, agent = await connected_call(api)
    pause_first = await api.client.post(
        f"/calls/{call_id}/record", json={"action": "pause"}, headers=agent.auth
    )
    assert pause_first.status_code == 409
    started = await api.client.post(f"/calls/{call_id}/record", json={"action": "start"}, headers=agent.auth)
    assert started.status_code == 200 and started.json()["recording_status"] == "in-progress"
    [create] = api.fake.made(f"/Calls/{sid}/Recordings.json")
    assert query_of(create.form["RecordingStatusCallback"]) == {"call_id": call_id}
    assert create.form["RecordingStatusCallbackEvent"] == "in-progress completed absent"
    recording_sid = (
        await api.row("SELECT recording_sid FROM telephony.calls WHERE id = :i", i=call_id) or {}
    )["recording_sid"]
    paused = await api.client.post(f"/calls/{call_id}/record", json={"action": "pause"}, headers=agent.auth)
    assert paused.json()["recording_status"] == "paused"
    assert api.fake.made(f"/Recordings/{recording_sid}.json")[0].form == {"Status": "paused"}
    assert (
        await api.client.post(f"/calls/{call_id}/record", json={"action": "pause"}, headers=agent.auth)
    ).status_code == 409
    resumed = await api.client.post(f"/calls/{call_id}/record", json={"action": "resume"}, headers=agent.auth)
    assert resumed.json()["recording_status"] == "in-progress"

    url = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{recording_sid}"
    done = {
        "AccountSid": ACCOUNT_SID,
        "CallSid": sid,
        "RecordingSid": recording_sid,
        "RecordingStatus": "completed",
        "RecordingUrl": url,
        "RecordingDuration": "31",
    }
    assert (await api.webhook("recording", done, query={"call_id": call_id})).status_code == 204
    late = {**done, "RecordingStatus": "in-progress"}
    assert (await api.webhook("recording", late, query={"call_id": call_id})).status_code == 204
    assert (await api.webhook("recording", done, query={"call_id": call_id})).status_code == 204
    got = (await api.client.get(f"/calls/{call_id}", headers=agent.auth)).json()
    assert got["recording_status"] == "completed" and got["recording_url"] == url
    [available] = await api.events("call.recording_available", key=call_id)
    assert available["data"]["recording_url"] == url and available["data"]["duration_seconds"] == 31


async def test_cold_transfer_to_an_agent_moves_the_call_at_once(api: Api) -> None:
    call_id, _, agent = await connected_call(api)
    target = await api.available_agent()
    moved = await api.client.post(
        f"/calls/{call_id}/transfer",
        json={"kind": "cold", "to_agent_id": str(target.user_id)},
        headers=agent.auth,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["agent_id"] == str(target.user_id)
    [drop] = api.fake.made(f"/Calls/{AGENT_LEG}.json")
    assert drop.form == {"Status": "completed"}, "the first agent's leg leaves the conference"
    assert (await api.client.get("/agents/me", headers=agent.auth)).json()["status"] == "available"
    me = (await api.client.get("/agents/me", headers=target.auth)).json()
    assert me["status"] == "busy" and me["current_call_id"] == call_id
    [event] = await api.events("call.transferred", key=call_id)
    assert event["data"]["kind"] == "cold" and event["data"]["from_agent_id"] == str(agent.user_id)
    assert (await api.client.post(f"/calls/{call_id}/end", headers=agent.auth)).status_code == 403


async def test_warm_transfer_waits_for_the_target_to_take_over(api: Api) -> None:
    call_id, _, agent = await connected_call(api)
    busy_target = await api.available_agent()
    await api.client.post("/agents/status", json={"status": "away"}, headers=busy_target.auth)
    refused = await api.client.post(
        f"/calls/{call_id}/transfer",
        json={"kind": "warm", "to_agent_id": str(busy_target.user_id)},
        headers=agent.auth,
    )
    assert refused.status_code == 409, "the target must be available"
    target = await api.available_agent()
    pending = await api.client.post(
        f"/calls/{call_id}/transfer",
        json={"kind": "warm", "to_agent_id": str(target.user_id)},
        headers=agent.auth,
    )
    assert pending.status_code == 200 and pending.json()["transfer_to_agent_id"] == str(target.user_id)
    assert pending.json()["agent_id"] == str(agent.user_id) and await api.events("call.transferred") == []
    joined = await api.webhook(
        "client",
        {
            "AccountSid": ACCOUNT_SID,
            "CallSid": "CA" + "7" * 32,
            "From": f"client:{target.user_id}",
            "callId": call_id,
        },
    )
    assert twiml(joined.text).find("Dial/Conference") is not None, "the target joins the conversation"
    assert (
        await api.client.post(f"/calls/{call_id}/transfer/cancel", headers=target.auth)
    ).status_code == 403
    withdrawn = await api.client.post(f"/calls/{call_id}/transfer/cancel", headers=agent.auth)
    assert withdrawn.status_code == 200 and withdrawn.json()["transfer_to_agent_id"] is None
    assert (await api.client.get("/agents/me", headers=target.auth)).json()["status"] == "available"
    assert (await api.client.post(f"/calls/{call_id}/transfer/cancel", headers=agent.auth)).status_code == 409
    again = await api.client.post(
        f"/calls/{call_id}/transfer",
        json={"kind": "warm", "to_agent_id": str(target.user_id)},
        headers=agent.auth,
    )
    assert again.status_code == 200
    taken = await api.client.post(f"/calls/{call_id}/accept", headers=target.auth)
    assert taken.status_code == 200 and taken.json()["agent_id"] == str(target.user_id)
    [event] = await api.events("call.transferred", key=call_id)
    assert event["data"]["kind"] == "warm" and event["data"]["to_agent_id"] == str(target.user_id)
    assert (await api.client.get("/agents/me", headers=agent.auth)).json()["status"] == "available"


async def test_transfer_to_a_number_redirects_the_customer_and_refuses_premium_numbers(api: Api) -> None:
    call_id, sid, agent = await connected_call(api)
    premium = await api.client.post(
        f"/calls/{call_id}/transfer", json={"to_number": "+34803123456"}, headers=agent.auth
    )
    assert premium.status_code == 422
    warm = await api.client.post(
        f"/calls/{call_id}/transfer", json={"kind": "warm", "to_number": "+34911222333"}, headers=agent.auth
    )
    assert warm.status_code == 422
    both = await api.client.post(
        f"/calls/{call_id}/transfer",
        json={"to_number": "+34911222333", "to_agent_id": str(agent.user_id)},
        headers=agent.auth,
    )
    assert both.status_code == 422
    moved = await api.client.post(
        f"/calls/{call_id}/transfer", json={"to_number": "911 222 333"}, headers=agent.auth
    )
    assert moved.status_code == 200, moved.text
    [redirect] = api.fake.made(f"/Calls/{sid}.json")
    number = twiml(redirect.form["Twiml"]).find("Dial/Number")
    assert number is not None and number.text == "+34911222333"
    [event] = await api.events("call.transferred", key=call_id)
    assert event["data"]["to_number"] == "+34911222333"
    assert (await api.client.get("/agents/me", headers=agent.auth)).json()["status"] == "available"
    failed = await api.webhook(
        "dial-action", {"CallSid": sid, "DialCallStatus": "no-answer"}, query={"call_id": call_id}
    )
    assert "No ha sido posible" in failed.text and twiml(failed.text).find("Hangup") is not None
