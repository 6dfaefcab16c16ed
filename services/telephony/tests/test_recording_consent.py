"""Recording consent (GDPR/LOPDGDD): the IVR reads the recording notice before the menu; a caller
who presses 8 is never recorded (a start is a 409 and nothing reaches Twilio); the choice is on the
call and on the CRM interaction."""

from __future__ import annotations

from .conftest import ACCOUNT_SID, Api, twiml
from .test_call_controls import AGENT_LEG, CONFERENCE
from .test_inbound import choose, ring


async def connect(api: Api, call_id: str, sid: str) -> None:
    for leg in (sid, AGENT_LEG):
        joined = {
            "AccountSid": ACCOUNT_SID,
            "ConferenceSid": CONFERENCE,
            "CallSid": leg,
            "StatusCallbackEvent": "participant-join",
        }
        assert (await api.webhook("conference", joined, query={"call_id": call_id})).status_code == 204


async def test_a_caller_who_refuses_is_never_recorded_and_the_crm_hears_of_it(api: Api) -> None:
    agent = await api.available_agent()
    call_id, sid = await ring(api, "+34699777001")
    menu = await api.webhook(
        "incoming",
        {
            "CallSid": sid,
            "From": "+34699777001",
            "To": "+34910000000",
            "AccountSid": ACCOUNT_SID,
            "CallStatus": "ringing",
        },
    )
    spoken = " ".join(s.text or "" for s in twiml(menu.text).iter("Say"))
    assert "puede ser grabada" in spoken and "pulse 8" in spoken, "the notice comes before the menu"

    again = twiml(await choose(api, call_id, sid, "8"))
    spoken = " ".join(s.text or "" for s in again.iter("Say"))
    assert "no se grabará" in spoken and "pulse 8" not in spoken and "pulse 1" in spoken
    await choose(api, call_id, sid, "2")
    assert (await api.client.post(f"/calls/{call_id}/accept", headers=agent.auth)).status_code == 200
    await connect(api, call_id, sid)

    refused = await api.client.post(f"/calls/{call_id}/record", json={"action": "start"}, headers=agent.auth)
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "refused to be recorded" in refused.json()["detail"]
    assert api.fake.made("/Recordings.json") == [], "nothing was asked of Twilio"
    row = await api.row(
        "SELECT recording_consent, recording_sid FROM telephony.calls WHERE id = :i", i=call_id
    )
    assert row == {"recording_consent": "refused", "recording_sid": None}
    shown = (await api.client.get(f"/calls/{call_id}", headers=agent.auth)).json()
    assert shown["recording_consent"] == "refused" and shown["recording_kept"] is False

    ended = await api.client.post(f"/calls/{call_id}/end", headers=agent.auth)
    assert ended.status_code == 200, ended.text
    [logged] = await api.events("interaction.logged")
    assert logged["data"]["recording_consent"] == "refused"


async def test_a_caller_who_hears_the_notice_and_chooses_may_be_recorded(api: Api) -> None:
    agent = await api.available_agent()
    call_id, sid = await ring(api, "+34699777002")
    await choose(api, call_id, sid, "1")
    assert (await api.client.post(f"/calls/{call_id}/accept", headers=agent.auth)).status_code == 200
    await connect(api, call_id, sid)
    started = await api.client.post(f"/calls/{call_id}/record", json={"action": "start"}, headers=agent.auth)
    assert started.status_code == 200, started.text
    row = await api.row("SELECT recording_consent FROM telephony.calls WHERE id = :i", i=call_id)
    assert row == {"recording_consent": "given"}
    assert len(api.fake.made("/Recordings.json")) == 1
