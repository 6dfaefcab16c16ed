"""Recorded live calls are transcribed: when an agent starts a call's recording, the worker asks
Twilio (the official SDK against the fake Twilio) for the call's Real-Time Transcription with our
status callback — once per recording, however often and by whichever worker the job runs — and
never for a caller who refused recording; the final utterances Twilio posts (signed) make the
transcript, attached to the call's CRM interaction once the transcription stops."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlalchemy import text

from telephony.core.runtime import Runtime
from telephony.providers.rest import TwilioRest
from telephony.recordings import service as recordings
from telephony.recordings.jobs import recording_jobs

from .conftest import ACCOUNT_SID, PUBLIC_BASE, Api
from .test_inbound import choose, ring
from .test_recording_consent import connect


async def run_transcribe_job(api: Api) -> int:
    rt: Runtime = api.app.state.runtime
    twilio = TwilioRest(rt.settings)
    try:
        async with await api.session() as session, session.begin():
            return await recordings.transcribe_pending(session, rt=rt, twilio=twilio)
    finally:
        await twilio.close()


def event(transcription_sid: str, call_sid: str, kind: str, sequence: int, **extra: str) -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID,
        "CallSid": call_sid,
        "TranscriptionSid": transcription_sid,
        "TranscriptionEvent": kind,
        "SequenceId": str(sequence),
        "Timestamp": "2026-12-07T12:00:00.000000Z",
        **extra,
    }


def said(text: str, track: str, *, final: bool = True) -> dict[str, str]:
    return {
        "TranscriptionData": f'{{"transcript": "{text}", "confidence": 0.93}}',
        "Track": track,
        "Final": "true" if final else "false",
        "LanguageCode": "es-ES",
    }


async def test_a_recorded_call_is_transcribed_once_and_the_transcript_reaches_its_crm_interaction(
    api: Api,
) -> None:
    agent = await api.available_agent()
    call_id, sid = await ring(api, "+34699444001")
    await choose(api, call_id, sid, "1")
    assert (await api.client.post(f"/calls/{call_id}/accept", headers=agent.auth)).status_code == 200
    await connect(api, call_id, sid)
    started = await api.client.post(f"/calls/{call_id}/record", json={"action": "start"}, headers=agent.auth)
    assert started.status_code == 200, started.text
    row = await api.row(
        "SELECT recording_sid, transcription_status FROM telephony.calls WHERE id = :i", i=call_id
    )
    assert row is not None and row["transcription_status"] == "pending"
    assert api.fake.made("/Transcriptions.json") == [], "requested by the worker, not in the agent's request"

    assert await run_transcribe_job(api) == 1
    assert await run_transcribe_job(api) == 0, "a second run asks nothing"
    rt: Runtime = api.app.state.runtime
    [restarted] = [job for job in recording_jobs(rt) if job.name == "telephony.recordings.transcribe"]
    async with await api.session() as session, session.begin():
        await restarted.func(session)  # a new worker's job: still nothing more
    [request] = api.fake.made(f"/Calls/{sid}/Transcriptions.json")
    assert request.auth is not None
    assert request.form["Name"] == row["recording_sid"], "named after the recording it transcribes"
    assert request.form["Track"] == "both_tracks" and request.form["LanguageCode"] == "es-ES"
    assert request.form["StatusCallbackMethod"] == "POST"
    callback = urlsplit(request.form["StatusCallbackUrl"])
    assert f"{callback.scheme}://{callback.netloc}" == PUBLIC_BASE
    assert callback.path == "/webhooks/twilio/voice/transcription"
    assert parse_qs(callback.query) == {"call_id": [call_id]}
    state = await api.row(
        "SELECT transcription_sid, transcription_status FROM telephony.calls WHERE id = :i", i=call_id
    )
    assert state is not None and state["transcription_status"] == "requested"
    gt = state["transcription_sid"]
    assert gt.startswith("GT")

    posts = [
        event(gt, sid, "transcription-started", 0),
        event(gt, sid, "transcription-content", 2, **said("Lo reviso ahora mismo.", "outbound_track")),
        event(gt, sid, "transcription-content", 1, **said("Tengo un siniestro abierto.", "inbound_track")),
        event(gt, sid, "transcription-content", 1, **said("Tengo un siniestro abierto.", "inbound_track")),
        event(gt, sid, "transcription-content", 3, **said("Grac", "inbound_track", final=False)),
        event("GT" + "0" * 32, sid, "transcription-content", 4, **said("de otra", "inbound_track")),
    ]
    for params in posts:  # out of order, a retried delivery, a partial result, another transcription
        answer = await api.webhook("transcription", params, query={"call_id": call_id})
        assert answer.status_code == 204, answer.text
    expected = "Cliente: Tengo un siniestro abierto.\nAgente: Lo reviso ahora mismo."
    row = await api.row("SELECT transcription FROM telephony.calls WHERE id = :i", i=call_id)
    assert row == {"transcription": expected}

    assert (await api.client.post(f"/calls/{call_id}/end", headers=agent.auth)).status_code == 200
    assert await api.events("interaction.transcribed") == [], "not before the transcription stops"
    for _ in range(2):  # Twilio retries: attached once
        stopped = event(gt, sid, "transcription-stopped", 5)
        assert (await api.webhook("transcription", stopped, query={"call_id": call_id})).status_code == 204
    [logged] = await api.events("interaction.logged")
    [transcribed] = await api.events("interaction.transcribed")
    assert transcribed["data"]["external_id"] == logged["data"]["external_id"]
    assert transcribed["data"]["transcript"] == expected


async def test_a_caller_who_refused_recording_is_never_transcribed(api: Api) -> None:
    agent = await api.available_agent()
    call_id, sid = await ring(api, "+34699444002")
    await choose(api, call_id, sid, "8")
    await choose(api, call_id, sid, "2")
    assert (await api.client.post(f"/calls/{call_id}/accept", headers=agent.auth)).status_code == 200
    await connect(api, call_id, sid)
    refused = await api.client.post(f"/calls/{call_id}/record", json={"action": "start"}, headers=agent.auth)
    assert refused.status_code == 409
    # Even a call marked for transcription by mistake is never sent to Twilio once refused.
    await api.conn.execute(
        text("UPDATE telephony.calls SET transcription_status = 'pending', recording_sid = :r WHERE id = :i"),
        {"r": "RE" + "1" * 32, "i": call_id},
    )
    assert await run_transcribe_job(api) == 0
    assert api.fake.made("/Transcriptions.json") == []
    row = await api.row("SELECT transcription_status FROM telephony.calls WHERE id = :i", i=call_id)
    assert row == {"transcription_status": None}
    content = event("GT" + "2" * 32, sid, "transcription-content", 1, **said("hola", "inbound_track"))
    assert (await api.webhook("transcription", content, query={"call_id": call_id})).status_code == 204
    row = await api.row("SELECT transcription FROM telephony.calls WHERE id = :i", i=call_id)
    assert row == {"transcription": None}


async def test_pausing_the_recording_stops_the_live_transcription_and_resuming_starts_a_new_one(
    api: Api,
) -> None:
    agent = await api.available_agent()
    call_id, sid = await ring(api, "+34699444003")
    await choose(api, call_id, sid, "2")
    assert (await api.client.post(f"/calls/{call_id}/accept", headers=agent.auth)).status_code == 200
    await connect(api, call_id, sid)

    async def record(action: str) -> None:
        answer = await api.client.post(
            f"/calls/{call_id}/record", json={"action": action}, headers=agent.auth
        )
        assert answer.status_code == 200, answer.text

    async def state() -> dict[str, object]:
        row = await api.row(
            "SELECT recording_sid, transcription_sid, transcription_status"
            " FROM telephony.calls WHERE id = :i",
            i=call_id,
        )
        assert row is not None
        return row

    await record("start")
    assert await run_transcribe_job(api) == 1
    first = await state()
    gt1 = str(first["transcription_sid"])
    said_before = event(gt1, sid, "transcription-content", 1, **said("Quiero contratar.", "inbound_track"))
    assert (await api.webhook("transcription", said_before, query={"call_id": call_id})).status_code == 204

    await record("pause")  # e.g. the customer reads out a card number
    [stop] = api.fake.made(f"/Calls/{sid}/Transcriptions/{gt1}.json")
    assert stop.form == {"Status": "stopped"}, "the live transcription stops with the recording"
    assert (await state())["transcription_status"] == "paused"
    assert await run_transcribe_job(api) == 0, "nothing is transcribed while paused"
    stopped = event(gt1, sid, "transcription-stopped", 2)
    assert (await api.webhook("transcription", stopped, query={"call_id": call_id})).status_code == 204
    assert (await state())["transcription_status"] == "paused", "a pause does not complete the transcript"

    await record("resume")
    assert await run_transcribe_job(api) == 1
    second = await state()
    gt2 = str(second["transcription_sid"])
    assert gt2 != gt1 and second["transcription_status"] == "requested"
    requests = api.fake.made(f"/Calls/{sid}/Transcriptions.json")
    assert [r.form["Name"] for r in requests] == [first["recording_sid"], f"{first['recording_sid']}-2"]
    said_after = event(gt2, sid, "transcription-content", 1, **said("Gracias.", "outbound_track"))
    assert (await api.webhook("transcription", said_after, query={"call_id": call_id})).status_code == 204

    assert (await api.client.post(f"/calls/{call_id}/end", headers=agent.auth)).status_code == 200
    done = event(gt2, sid, "transcription-stopped", 2)
    assert (await api.webhook("transcription", done, query={"call_id": call_id})).status_code == 204
    [transcribed] = await api.events("interaction.transcribed")
    assert transcribed["data"]["transcript"] == "Cliente: Quiero contratar.\nAgente: Gracias."
