"""The agent hangs up in the browser softphone: Twilio reports it with the callbacks it really sends
(the conference's participant-leave, the TwiML App's status callback of the agent's leg), signed."""

from __future__ import annotations

from .conftest import ACCOUNT_SID, Api, Person, twiml
from .test_call_controls import AGENT_LEG, CONFERENCE, connected_call

TARGET_LEG = "CA" + "6" * 32


def left(leg: str) -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID,
        "ConferenceSid": CONFERENCE,
        "CallSid": leg,
        "StatusCallbackEvent": "participant-leave",
    }


def leg_status(leg: str, agent: Person, status: str = "completed") -> dict[str, str]:
    """The TwiML App's status callback for an agent's softphone leg (no call id in its URL)."""
    return {
        "AccountSid": ACCOUNT_SID,
        "CallSid": leg,
        "From": f"client:{agent.user_id}",
        "To": "",
        "CallStatus": status,
        "Direction": "inbound",
        "CallDuration": "30",
        "ApiVersion": "2010-04-01",
    }


async def assert_ended_by_the_agent(api: Api, call_id: str, sid: str, agent: Person) -> None:
    [hangup] = api.fake.made(f"/Calls/{sid}.json")
    assert hangup.form == {"Status": "completed"}, "the customer's leg is hung up at Twilio"
    got = (await api.client.get(f"/calls/{call_id}", headers=agent.auth)).json()
    assert got["status"] == "completed" and got["outcome"] == "answered" and got["ended_at"]
    assert got["duration_seconds"] == 42, "Twilio's duration of the customer's leg"
    me = (await api.client.get("/agents/me", headers=agent.auth)).json()
    assert me["status"] == "available" and me["current_call_id"] is None
    [ended] = await api.events("call.ended", key=call_id)
    assert ended["data"]["outcome"] == "answered"
    [logged] = await api.events("interaction.logged")
    assert logged["data"]["outcome"] == "answered" and logged["data"]["direction"] == "inbound"


async def test_the_softphone_status_callback_of_the_agents_leg_ends_the_call(api: Api) -> None:
    call_id, sid, agent = await connected_call(api, "+34699777001")
    ringing = await api.webhook("status", leg_status(AGENT_LEG, agent, "in-progress"))
    assert ringing.status_code == 204 and api.fake.made(f"/Calls/{sid}.json") == []
    assert await api.events("call.ended") == [], "a live status of the agent's leg changes nothing"

    hung_up = await api.webhook("status", leg_status(AGENT_LEG, agent))
    assert hung_up.status_code == 204
    await assert_ended_by_the_agent(api, call_id, sid, agent)

    assert (await api.webhook("status", leg_status(AGENT_LEG, agent))).status_code == 204
    assert (await api.webhook("conference", left(AGENT_LEG), query={"call_id": call_id})).status_code == 204
    assert len(await api.events("call.ended")) == 1, "a replay or the late leave event ends nothing twice"
    assert len(api.fake.made(f"/Calls/{sid}.json")) == 1


async def test_the_agents_leg_leaving_the_conference_ends_the_call(api: Api) -> None:
    call_id, sid, agent = await connected_call(api, "+34699777002")
    customer_left = await api.webhook("conference", left(sid), query={"call_id": call_id})
    assert customer_left.status_code == 204
    assert await api.events("call.ended") == [], "the customer's own status callback ends the call"

    agent_left = await api.webhook("conference", left(AGENT_LEG), query={"call_id": call_id})
    assert agent_left.status_code == 204
    await assert_ended_by_the_agent(api, call_id, sid, agent)
    # Twilio then reports the agent's leg completed and the customer's leg completed: nothing more.
    assert (await api.webhook("status", leg_status(AGENT_LEG, agent))).status_code == 204
    customer_done = {
        "AccountSid": ACCOUNT_SID,
        "CallSid": sid,
        "CallStatus": "completed",
        "CallDuration": "42",
    }
    assert (await api.webhook("status", customer_done)).status_code == 204
    assert len(await api.events("call.ended")) == 1 and len(await api.events("interaction.logged")) == 1


async def test_an_unsigned_leave_event_changes_nothing(api: Api) -> None:
    call_id, sid, agent = await connected_call(api, "+34699777003")
    forged = await api.webhook("conference", left(AGENT_LEG), query={"call_id": call_id}, signature="forged")
    assert forged.status_code == 403
    forged_status = await api.webhook("status", leg_status(AGENT_LEG, agent), signature="")
    assert forged_status.status_code == 403
    assert api.fake.made(f"/Calls/{sid}.json") == [] and await api.events("call.ended") == []
    assert (await api.client.get("/agents/me", headers=agent.auth)).json()["status"] == "busy"


async def join_as_transfer_target(api: Api, call_id: str, agent: Person) -> Person:
    target = await api.available_agent()
    pending = await api.client.post(
        f"/calls/{call_id}/transfer",
        json={"kind": "warm", "to_agent_id": str(target.user_id)},
        headers=agent.auth,
    )
    assert pending.status_code == 200, pending.text
    joined = await api.webhook(
        "client",
        {
            "AccountSid": ACCOUNT_SID,
            "CallSid": TARGET_LEG,
            "From": f"client:{target.user_id}",
            "callId": call_id,
        },
    )
    assert twiml(joined.text).find("Dial/Conference") is not None
    join = {**left(TARGET_LEG), "StatusCallbackEvent": "participant-join"}
    assert (await api.webhook("conference", join, query={"call_id": call_id})).status_code == 204
    return target


async def test_the_agent_hanging_up_during_a_warm_transfer_hands_the_call_to_its_target(api: Api) -> None:
    call_id, sid, agent = await connected_call(api, "+34699777004")
    target = await join_as_transfer_target(api, call_id, agent)

    assert (await api.webhook("conference", left(AGENT_LEG), query={"call_id": call_id})).status_code == 204
    got = (await api.client.get(f"/calls/{call_id}", headers=target.auth)).json()
    assert got["status"] == "in-progress" and got["agent_id"] == str(target.user_id)
    assert got["transfer_to_agent_id"] is None
    assert api.fake.made(f"/Calls/{sid}.json") == [], "the customer stays on the line"
    [moved] = await api.events("call.transferred", key=call_id)
    assert moved["data"]["kind"] == "warm" and moved["data"]["to_agent_id"] == str(target.user_id)
    assert (await api.client.get("/agents/me", headers=agent.auth)).json()["status"] == "available"

    # The target's leg is the call's agent leg now: mute acts on it, and their hang-up ends the call.
    muted = await api.client.post(f"/calls/{call_id}/mute", json={"on": True}, headers=target.auth)
    assert muted.status_code == 200, muted.text
    assert api.fake.made(f"/Conferences/{CONFERENCE}/Participants/{TARGET_LEG}.json")
    assert (await api.webhook("status", leg_status(AGENT_LEG, agent))).status_code == 204
    assert await api.events("call.ended") == [], "the first agent's leg is no longer the call's"
    assert (await api.webhook("status", leg_status(TARGET_LEG, target))).status_code == 204
    [ended] = await api.events("call.ended", key=call_id)
    assert ended["data"]["agent_id"] == str(target.user_id)
    assert (await api.client.get("/agents/me", headers=target.auth)).json()["status"] == "available"


async def test_the_target_hanging_up_first_withdraws_the_warm_transfer(api: Api) -> None:
    call_id, sid, agent = await connected_call(api, "+34699777005")
    target = await join_as_transfer_target(api, call_id, agent)

    assert (await api.webhook("status", leg_status(TARGET_LEG, target))).status_code == 204
    got = (await api.client.get(f"/calls/{call_id}", headers=agent.auth)).json()
    assert got["status"] == "in-progress" and got["agent_id"] == str(agent.user_id)
    assert got["transfer_to_agent_id"] is None
    assert (await api.client.get("/agents/me", headers=target.auth)).json()["status"] == "available"
    assert await api.events("call.transferred") == [] and await api.events("call.ended") == []
    assert api.fake.made(f"/Calls/{sid}.json") == []


async def test_the_agents_leg_leaving_after_a_cold_transfer_does_not_end_the_call(api: Api) -> None:
    call_id, sid, agent = await connected_call(api, "+34699777006")
    target = await api.available_agent()
    moved = await api.client.post(
        f"/calls/{call_id}/transfer",
        json={"kind": "cold", "to_agent_id": str(target.user_id)},
        headers=agent.auth,
    )
    assert moved.status_code == 200, moved.text
    assert (await api.webhook("conference", left(AGENT_LEG), query={"call_id": call_id})).status_code == 204
    assert (await api.webhook("status", leg_status(AGENT_LEG, agent))).status_code == 204
    assert await api.events("call.ended") == [], "the cold-transferred agent's leg leaving is expected"
    assert api.fake.made(f"/Calls/{sid}.json") == [], "the customer stays on the line"
    assert (await api.client.get("/agents/me", headers=target.auth)).json()["current_call_id"] == call_id


async def test_the_agents_leg_leaving_after_a_transfer_to_a_number_does_not_end_the_call(api: Api) -> None:
    second_id, second_sid, second_agent = await connected_call(api, "+34699777007")
    redirected = await api.client.post(
        f"/calls/{second_id}/transfer", json={"to_number": "+34911222333"}, headers=second_agent.auth
    )
    assert redirected.status_code == 200, redirected.text
    assert (await api.webhook("conference", left(AGENT_LEG), query={"call_id": second_id})).status_code == 204
    assert await api.events("call.ended") == [], "the customer is on the way to the number, not hung up"
    [redirect] = api.fake.made(f"/Calls/{second_sid}.json")
    assert "Twiml" in redirect.form and "Status" not in redirect.form
