"""A customer we dial hears the recording notice before anything is recorded and may refuse with 8,
as inbound callers do: the TwiML sent to Twilio (official SDK, fake Twilio) reads the notice in a
<Gather>; the choice is stored on the call and its CRM interaction; a refused call is never
recorded (409, nothing asked of Twilio), and no recording starts before the notice was heard."""

from __future__ import annotations

from typing import Any

from .conftest import ACCOUNT_SID, Api, query_of, twiml


async def dial(api: Api, number: str) -> tuple[dict[str, Any], Any]:
    """An agent places a call; the customer picks up (Twilio's status callback)."""
    agent = await api.available_agent()
    placed = await api.client.post("/calls/initiate", json={"to": number}, headers=agent.auth)
    assert placed.status_code == 201, placed.text
    call = placed.json()
    answered = {"AccountSid": ACCOUNT_SID, "CallSid": call["call_sid"], "CallStatus": "in-progress"}
    assert (await api.webhook("status", answered, query={"call_id": call["id"]})).status_code == 204
    return call, agent


async def press(api: Api, call: dict[str, Any], digits: str) -> str:
    params = {"AccountSid": ACCOUNT_SID, "CallSid": call["call_sid"], "Digits": digits}
    answer = await api.webhook("consent", params, query={"call_id": call["id"]})
    assert answer.status_code == 200, answer.text
    return answer.text


async def test_the_customer_we_dial_hears_the_notice_and_a_refusal_is_never_recorded(api: Api) -> None:
    call, agent = await dial(api, "+34612300001")
    [sent] = api.fake.made("/Calls.json")
    document = twiml(sent.form["Twiml"])
    gather = document.find("Gather")
    assert gather is not None, "the notice is read before the customer joins the conference"
    assert gather.get("numDigits") == "1" and query_of(gather.get("action") or "") == {"call_id": call["id"]}
    assert (gather.get("action") or "").startswith("https://voice.aintech.test/webhooks/twilio/voice/consent")
    spoken = " ".join(s.text or "" for s in gather.iter("Say"))
    assert "puede ser grabada" in spoken and "pulse 8" in spoken
    children = [child.tag for child in document]
    assert children.index("Gather") < children.index("Dial"), "no key: on to the conference afterwards"

    early = await api.client.post(f"/calls/{call['id']}/record", json={"action": "start"}, headers=agent.auth)
    assert early.status_code == 409, "not before the customer heard the notice"
    assert "not yet heard the recording notice" in early.json()["detail"]

    refused = twiml(await press(api, call, "8"))
    assert "no se grabará" in " ".join(s.text or "" for s in refused.iter("Say"))
    conference = refused.find("Dial/Conference")
    assert conference is not None and conference.text == f"call-{call['id']}"
    assert refused.find("Gather") is None, "the notice is not read twice"
    await press(api, call, "1")  # a later key (or a replayed webhook) does not undo the refusal
    row = await api.row("SELECT recording_consent FROM telephony.calls WHERE id = :i", i=call["id"])
    assert row == {"recording_consent": "refused"}

    attempt = await api.client.post(
        f"/calls/{call['id']}/record", json={"action": "start"}, headers=agent.auth
    )
    assert attempt.status_code == 409, attempt.text
    assert attempt.headers["content-type"].startswith("application/problem+json")
    assert "refused to be recorded" in attempt.json()["detail"]
    assert api.fake.made("/Recordings.json") == [], "nothing was asked of Twilio"
    shown = (await api.client.get(f"/calls/{call['id']}", headers=agent.auth)).json()
    assert shown["recording_consent"] == "refused"

    assert (await api.client.post(f"/calls/{call['id']}/end", headers=agent.auth)).status_code == 200
    [logged] = await api.events("interaction.logged")
    assert logged["data"]["recording_consent"] == "refused" and logged["data"]["direction"] == "outbound"


async def test_a_customer_who_accepts_or_lets_the_notice_end_may_be_recorded(api: Api) -> None:
    call, agent = await dial(api, "+34612300002")
    accepted = twiml(await press(api, call, "1"))
    assert accepted.find("Dial/Conference") is not None
    started = await api.client.post(
        f"/calls/{call['id']}/record", json={"action": "start"}, headers=agent.auth
    )
    assert started.status_code == 200, started.text
    assert len(api.fake.made(f"/Calls/{call['call_sid']}/Recordings.json")) == 1
    assert (await api.client.post(f"/calls/{call['id']}/end", headers=agent.auth)).status_code == 200
    [logged] = await api.events("interaction.logged")
    assert logged["data"]["recording_consent"] == "given"

    silent, agent2 = await dial(api, "+34612300003")
    joined = {
        "AccountSid": ACCOUNT_SID,
        "ConferenceSid": "CF" + "9" * 32,
        "CallSid": silent["call_sid"],
        "StatusCallbackEvent": "participant-join",
    }
    assert (await api.webhook("conference", joined, query={"call_id": silent["id"]})).status_code == 204
    row = await api.row("SELECT recording_consent FROM telephony.calls WHERE id = :i", i=silent["id"])
    assert row == {"recording_consent": "given"}, "heard the notice to its end without refusing"
    later = await api.client.post(
        f"/calls/{silent['id']}/record", json={"action": "start"}, headers=agent2.auth
    )
    assert later.status_code == 200, later.text
