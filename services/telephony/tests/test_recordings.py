"""Recordings kept by the platform: copied from Twilio (the fake serves the media) into the object
store with the digest checked, deleted at Twilio, played back only by the call's agent and
supervisors with byte ranges, and purged after the retention period by a job that logs each removal
(committed rows, a clock the test sets)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import structlog
from fastapi import FastAPI

from aintech_contracts.rbac import Role
from aintech_shared.db import Database
from telephony.calls.models import Call
from telephony.core.base import utcnow
from telephony.core.runtime import Runtime
from telephony.providers.rest import TwilioRest
from telephony.recordings import service as recordings

from .conftest import ACCOUNT_SID, Api
from .test_call_controls import connected_call

MEDIA = b"RIFF" + bytes(range(256)) * 40  # what the fake Twilio serves for the recording


async def finished_recording(api: Api) -> tuple[str, str, Any]:
    call_id, sid, agent = await connected_call(api, "+34699888001")
    started = await api.client.post(f"/calls/{call_id}/record", json={"action": "start"}, headers=agent.auth)
    assert started.status_code == 200, started.text
    row = await api.row("SELECT recording_sid FROM telephony.calls WHERE id = :i", i=call_id)
    assert row is not None
    recording_sid = row["recording_sid"]
    api.fake.media[recording_sid] = MEDIA
    done = {
        "AccountSid": ACCOUNT_SID,
        "CallSid": sid,
        "RecordingSid": recording_sid,
        "RecordingStatus": "completed",
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{recording_sid}",
        "RecordingDuration": "12",
    }
    assert (await api.webhook("recording", done, query={"call_id": call_id})).status_code == 204
    return call_id, recording_sid, agent


async def test_a_finished_recording_is_copied_checked_deleted_at_twilio_and_played_back_by_range(
    api: Api,
) -> None:
    rt: Runtime = api.app.state.runtime
    call_id, recording_sid, agent = await finished_recording(api)
    twilio = TwilioRest(rt.settings)
    try:
        async with await api.session() as session, session.begin():
            assert (
                await recordings.archive_pending(session, twilio=twilio, store=rt.store, settings=rt.settings)
                == 1
            )
    finally:
        await twilio.close()
    row = await api.row(
        "SELECT recording_key, recording_sha256, recording_size, recording_url "
        "FROM telephony.calls WHERE id = :i",
        i=call_id,
    )
    assert row is not None
    assert row["recording_sha256"] == hashlib.sha256(MEDIA).hexdigest() and row["recording_size"] == len(
        MEDIA
    )
    assert row["recording_url"] is None, "Twilio's copy is gone: only ours remains"
    assert api.fake.made(f"/Recordings/{recording_sid}.json", method="DELETE"), "deleted at Twilio"
    assert recording_sid not in api.fake.media
    [download] = api.fake.made(f"/Recordings/{recording_sid}.wav", method="GET")
    assert download.auth is not None, "the media is fetched with the account's credentials"

    whole = await api.client.get(f"/calls/{call_id}/recording", headers=agent.auth)
    assert whole.status_code == 200 and whole.content == MEDIA
    assert whole.headers["accept-ranges"] == "bytes"
    part = await api.client.get(f"/calls/{call_id}/recording", headers={**agent.auth, "Range": "bytes=4-9"})
    assert part.status_code == 206 and part.content == MEDIA[4:10]
    assert part.headers["content-range"] == f"bytes 4-9/{len(MEDIA)}"
    outside = await api.client.get(
        f"/calls/{call_id}/recording", headers={**agent.auth, "Range": f"bytes={len(MEDIA) + 5}-"}
    )
    assert outside.status_code == 416

    supervisor = api.person(Role.supervisor)
    assert (await api.client.get(f"/calls/{call_id}/recording", headers=supervisor.auth)).status_code == 200
    other = api.person(Role.agent)
    refused = await api.client.get(f"/calls/{call_id}/recording", headers=other.auth)
    assert refused.status_code == 403 and refused.content != MEDIA
    assert refused.headers["content-type"].startswith("application/problem+json")


async def test_a_digest_mismatch_keeps_nothing_and_is_retried(api: Api) -> None:
    """A store that keeps other bytes than the download is caught: nothing is recorded and Twilio
    keeps its copy (the next run tries again)."""
    rt: Runtime = api.app.state.runtime
    call_id, recording_sid, _ = await finished_recording(api)

    class Corrupting:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        async def put(self, key: str, data: Any, *, content_type: str) -> Any:
            return await self.inner.put(key, data[:-1], content_type=content_type)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    twilio = TwilioRest(rt.settings)
    try:
        async with await api.session() as session, session.begin():
            done = await recordings.archive_pending(
                session, twilio=twilio, store=Corrupting(rt.store), settings=rt.settings
            )
    finally:
        await twilio.close()
    assert done == 0
    row = await api.row("SELECT recording_key FROM telephony.calls WHERE id = :i", i=call_id)
    assert row == {"recording_key": None}
    assert not api.fake.made(f"/Recordings/{recording_sid}.json", method="DELETE")


async def test_the_retention_purge_removes_expired_recordings_and_logs_them(
    committed: Database, app: FastAPI
) -> None:
    rt: Runtime = app.state.runtime
    now = utcnow()
    keys = []
    async with committed.transaction() as session:
        for n, age_days in enumerate((400, 10)):
            call = Call(
                direction="inbound",
                customer_phone=f"+3469990000{n}",
                our_number="+34910000000",
                status="completed",
                call_sid=f"CA{n:032d}",
                created_at=now - timedelta(days=age_days),
                metadata_={},
                recording_sid=f"RE{n:032d}",
                recording_status="completed",
            )
            session.add(call)
            await session.flush()
            key = recordings.key_for(call)
            stored = await rt.store.put(key, MEDIA, content_type="audio/wav")
            call.recording_key, call.recording_sha256, call.recording_size = key, stored.sha256, stored.size
            call.recording_archived_at = now - timedelta(days=age_days)
            keys.append(key)
    with structlog.testing.capture_logs() as logs:
        async with committed.transaction() as session:
            removed = await recordings.purge_expired(
                session, store=rt.store, settings=rt.settings, now=now + timedelta(seconds=1)
            )
    assert removed == [keys[0]], "only the recording older than the retention period"
    assert await rt.store.stat(keys[0]) is None and await rt.store.stat(keys[1]) is not None
    purged = [entry for entry in logs if entry["event"] == "recording_purged"]
    assert [entry["key"] for entry in purged] == [keys[0]]
    async with committed.transaction() as session:
        again = await recordings.purge_expired(session, store=rt.store, settings=rt.settings, now=now)
    assert again == [], "a purge is not repeated"
    await rt.store.delete(keys[1])


async def test_a_recorded_calls_transcription_reaches_its_crm_interaction_once(api: Api) -> None:
    call_id, recording_sid, agent = await finished_recording(api)
    assert (await api.client.post(f"/calls/{call_id}/end", headers=agent.auth)).status_code == 200
    params = {
        "AccountSid": ACCOUNT_SID,
        "RecordingSid": recording_sid,
        "TranscriptionStatus": "completed",
        "TranscriptionText": "El perito visitará la vivienda el martes.",
    }
    for _ in range(2):  # Twilio retries: attached once
        answer = await api.webhook("transcription", params, query={"call_id": call_id})
        assert answer.status_code == 204, answer.text
    [logged] = await api.events("interaction.logged")
    [transcribed] = await api.events("interaction.transcribed")
    assert transcribed["data"]["external_id"] == logged["data"]["external_id"]
    assert transcribed["data"]["transcript"] == "El perito visitará la vivienda el martes."
    row = await api.row("SELECT transcription FROM telephony.calls WHERE id = :i", i=call_id)
    assert row == {"transcription": "El perito visitará la vivienda el martes."}
