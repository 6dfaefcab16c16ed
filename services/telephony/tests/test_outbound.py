"""Agent tokens and outbound calls through the official SDK against the fake Twilio."""

from __future__ import annotations

import jwt
from httpx import ASGITransport, AsyncClient

from aintech_contracts.rbac import Role
from aintech_shared.webhooks import TWILIO_SIGNATURE, twilio_signature

from .conftest import (
    ACCOUNT_SID,
    API_KEY_SECRET,
    API_KEY_SID,
    AUTH_TOKEN,
    OUR_NUMBER,
    TWIML_APP_SID,
    Api,
    query_of,
    twiml,
)


async def test_voice_token_is_a_short_lived_twilio_access_token_for_the_agent(api: Api) -> None:
    agent = api.person(Role.agent)
    response = await api.client.post("/agents/token", headers=agent.auth)
    assert response.status_code == 200, response.text
    body = response.json()
    claims = jwt.decode(body["token"], API_KEY_SECRET, algorithms=["HS256"])
    assert claims["iss"] == API_KEY_SID and claims["sub"] == ACCOUNT_SID
    assert claims["grants"]["identity"] == str(agent.user_id) == body["identity"]
    assert claims["grants"]["voice"] == {
        "incoming": {"allow": True},
        "outgoing": {"application_sid": TWIML_APP_SID},
    }
    assert claims["exp"] - claims["nbf"] == 600 == body["expires_in"]
    assert body["console"] is False

    customer = api.person(Role.customer)
    assert (await api.client.post("/agents/token", headers=customer.auth)).status_code == 403
    missing = await api.client.post("/agents/token")
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"


async def test_outbound_call_dials_through_twilio_and_makes_the_agent_busy(api: Api) -> None:
    agent = api.person(Role.agent)
    refused = await api.client.post("/calls/initiate", json={"to": "612 345 678"}, headers=agent.auth)
    assert refused.status_code == 409, "an agent who never became available cannot dial"
    await api.available_agent(agent.user_id)

    placed = await api.client.post("/calls/initiate", json={"to": "612 345 678"}, headers=agent.auth)
    assert placed.status_code == 201, placed.text
    call = placed.json()
    assert call["customer_phone"] == "+34612345678" and call["status"] == "queued"
    assert call["agent_id"] == str(agent.user_id) and call["call_sid"].startswith("CA")

    [sent] = api.fake.made("/Calls.json")
    assert sent.auth == (API_KEY_SID, API_KEY_SECRET)
    assert sent.form["To"] == "+34612345678" and sent.form["From"] == OUR_NUMBER
    assert query_of(sent.form["StatusCallback"]) == {"call_id": call["id"]}
    assert sent.form["StatusCallback"].startswith("https://voice.aintech.test/webhooks/twilio/voice/status")
    conference = twiml(sent.form["Twiml"]).find("Dial/Conference")
    assert conference is not None and conference.text == f"call-{call['id']}"
    assert conference.get("endConferenceOnExit") == "true"

    me = (await api.client.get("/agents/me", headers=agent.auth)).json()
    assert me["status"] == "busy" and me["current_call_id"] == call["id"]
    [initiated] = await api.events("call.initiated", key=call["id"])
    assert initiated["data"]["call_sid"] == call["call_sid"]
    statuses = [e["data"]["status"] for e in await api.events("agent.status_changed", key=str(agent.user_id))]
    assert statuses == ["available", "busy"]

    again = await api.client.post("/calls/initiate", json={"to": "+34612345679"}, headers=agent.auth)
    assert again.status_code == 409, "a busy agent cannot place a second call"


async def test_toll_fraud_numbers_are_refused_before_twilio_is_asked(api: Api) -> None:
    agent = await api.available_agent()
    for number, reason in (
        ("+34 803 123 456", "premium-rate"),
        ("+34 901 123 456", "shared-cost"),
        ("+33 8 91 23 45 67", "premium-rate"),
        ("+34 800 123 456", "80x/90x"),
        ("+44 7012 345678", "not allowed"),
        ("+34 905 123 456", "valid"),
        ("+34 12", "valid"),
    ):
        response = await api.client.post("/calls/initiate", json={"to": number}, headers=agent.auth)
        assert response.status_code == 422, (number, response.text)
        assert reason in response.json()["detail"] + str(response.json()["errors"]), response.text
    assert api.fake.made("/Calls.json") == []
    for hostile in ("+34612\x00345678", "1" * 40, "<script>"):
        response = await api.client.post("/calls/initiate", json={"to": hostile}, headers=agent.auth)
        assert response.status_code == 422


async def test_outbound_calls_are_rate_limited_per_agent(api: Api) -> None:
    agent = await api.available_agent()
    for n in range(3):
        placed = await api.client.post("/calls/initiate", json={"to": f"+3461234560{n}"}, headers=agent.auth)
        assert placed.status_code == 201, placed.text
        assert (
            await api.client.post(f"/calls/{placed.json()['id']}/end", headers=agent.auth)
        ).status_code == 200
        await api.available_agent(agent.user_id)
    limited = await api.client.post("/calls/initiate", json={"to": "+34612345609"}, headers=agent.auth)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "3600"
    other = await api.available_agent()
    assert (
        await api.client.post("/calls/initiate", json={"to": "+34612345609"}, headers=other.auth)
    ).status_code == 201


async def test_twilio_refusal_is_a_502_and_leaves_nothing_behind(api: Api) -> None:
    agent = await api.available_agent()
    api.fake.fail_next = (400, 21211, "Invalid 'To' Phone Number")
    response = await api.client.post("/calls/initiate", json={"to": "+34612345678"}, headers=agent.auth)
    assert response.status_code == 502
    assert "Invalid 'To' Phone Number" in response.json()["detail"]
    assert response.json()["twilio_code"] == 21211
    me = (await api.client.get("/agents/me", headers=agent.auth)).json()
    assert me["status"] == "available" and me["current_call_id"] is None
    assert await api.row("SELECT id FROM telephony.calls WHERE agent_id = :a", a=agent.user_id) is None
    assert await api.events("call.initiated") == []


async def test_status_callbacks_move_forward_only_and_are_idempotent(api: Api) -> None:
    agent = await api.available_agent()
    call = (await api.client.post("/calls/initiate", json={"to": "+34612345678"}, headers=agent.auth)).json()
    sid, query = call["call_sid"], {"call_id": call["id"]}

    def status(value: str, **extra: str) -> dict[str, str]:
        return {"AccountSid": ACCOUNT_SID, "CallSid": sid, "CallStatus": value, **extra}

    assert (await api.webhook("status", status("ringing"), query=query)).status_code == 204
    assert (await api.webhook("status", status("in-progress"), query=query)).status_code == 204
    answered = await api.events("call.answered", key=call["id"])
    assert len(answered) == 1
    assert (
        await api.webhook("status", status("completed", CallDuration="37"), query=query)
    ).status_code == 204
    late = await api.webhook("status", status("ringing"), query=query)
    assert late.status_code == 204
    replay = await api.webhook("status", status("completed", CallDuration="37"), query=query)
    assert replay.status_code == 204

    got = (await api.client.get(f"/calls/{call['id']}", headers=agent.auth)).json()
    assert got["status"] == "completed" and got["duration_seconds"] == 37 and got["outcome"] == "answered"
    [ended] = await api.events("call.ended", key=call["id"])
    assert ended["data"]["duration_seconds"] == 37
    [logged] = await api.events("interaction.logged")
    assert logged["data"]["external_id"] == sid and logged["data"]["type"] == "call"
    assert logged["data"]["direction"] == "outbound" and logged["data"]["phone"] == "+34612345678"
    me = (await api.client.get("/agents/me", headers=agent.auth)).json()
    assert me["status"] == "available"


async def test_forged_or_misaddressed_webhooks_are_refused_without_effect(api: Api) -> None:
    agent = await api.available_agent()
    call = (await api.client.post("/calls/initiate", json={"to": "+34612345678"}, headers=agent.auth)).json()
    params = {"AccountSid": ACCOUNT_SID, "CallSid": call["call_sid"], "CallStatus": "completed"}
    query = {"call_id": call["id"]}
    forged = await api.webhook("status", params, query=query, signature="bm90LWEtc2lnbmF0dXJl")
    assert forged.status_code == 403
    assert forged.headers["content-type"] == "application/problem+json"
    public = f"https://voice.aintech.test/webhooks/twilio/voice/status?call_id={call['id']}"
    genuine = twilio_signature(AUTH_TOKEN, public, params)
    other_host = await api.webhook("status", params, query=query, signature=genuine, host="evil.example")
    assert other_host.status_code == 403, "a signature is only good for the URL it was made for"
    transport = ASGITransport(app=api.app, client=("203.0.113.9", 40000))
    async with AsyncClient(transport=transport, base_url="http://telephony.internal") as outsider:
        spoofed = await outsider.post(
            f"/webhooks/twilio/voice/status?call_id={call['id']}",
            data=params,
            headers={
                TWILIO_SIGNATURE: genuine,
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": "voice.aintech.test",
            },
        )
    assert spoofed.status_code == 403, "forwarded headers count only from a trusted proxy"
    unsigned = await api.client.post(f"/webhooks/twilio/voice/status?call_id={call['id']}", data=params)
    assert unsigned.status_code == 403
    api.token = "another-account-token"
    assert (await api.webhook("status", params, query=query)).status_code == 403
    got = (await api.client.get(f"/calls/{call['id']}", headers=agent.auth)).json()
    assert got["status"] == "queued" and await api.events("call.ended") == []


async def test_end_uses_twilio_duration_and_frees_the_agent(api: Api) -> None:
    agent = await api.available_agent()
    call = (await api.client.post("/calls/initiate", json={"to": "+34612345678"}, headers=agent.auth)).json()
    params = {"AccountSid": ACCOUNT_SID, "CallSid": call["call_sid"], "CallStatus": "in-progress"}
    await api.webhook("status", params, query={"call_id": call["id"]})
    stranger = await api.available_agent()
    assert (await api.client.post(f"/calls/{call['id']}/end", headers=stranger.auth)).status_code == 403

    ended = await api.client.post(f"/calls/{call['id']}/end", headers=agent.auth)
    assert ended.status_code == 200, ended.text
    assert ended.json()["status"] == "completed" and ended.json()["duration_seconds"] == 42
    [hangup] = api.fake.made(f"/Calls/{call['call_sid']}.json")
    assert hangup.form == {"Status": "completed"}
    assert (await api.client.get("/agents/me", headers=agent.auth)).json()["status"] == "available"
    again = await api.client.post(f"/calls/{call['id']}/end", headers=agent.auth)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert len(await api.events("call.ended", key=call["id"])) == 1
    assert len(await api.events("interaction.logged")) == 1


async def test_unanswered_outbound_call_is_missed_and_frees_the_agent(api: Api) -> None:
    agent = await api.available_agent()
    call = (await api.client.post("/calls/initiate", json={"to": "+34612345678"}, headers=agent.auth)).json()
    params = {"AccountSid": ACCOUNT_SID, "CallSid": call["call_sid"], "CallStatus": "no-answer"}
    assert (await api.webhook("status", params, query={"call_id": call["id"]})).status_code == 204
    got = (await api.client.get(f"/calls/{call['id']}", headers=agent.auth)).json()
    assert got["status"] == "no-answer" and got["outcome"] == "missed" and got["answered_at"] is None
    assert (await api.client.get("/agents/me", headers=agent.auth)).json()["status"] == "available"
    [logged] = await api.events("interaction.logged")
    assert logged["data"]["outcome"] == "missed" and logged["data"]["duration_seconds"] is None
    assert await api.events("call.answered") == []
