"""The transcription job waits for its work: the commit that starts a call's recording (its
transcription now pending) wakes the worker's job at once, and only a slow safety poll runs it
otherwise (a lost notification delays the request until that poll, here injected short, never
loses it)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.rbac import Role
from aintech_devtools.api import eventually
from aintech_shared.auth import Principal
from aintech_shared.db import Database
from aintech_shared.scheduler import JobWaker, ScheduledJob, run_scheduler
from telephony.calls import service as calls
from telephony.core.base import MESSAGING
from telephony.core.runtime import Runtime
from telephony.recordings.jobs import recording_jobs

from .fake_twilio import FakeTwilio


def transcribe_job(app: FastAPI, runs: list[int], *, every: timedelta = timedelta(hours=1)) -> ScheduledJob:
    """The worker's own ``telephony.recordings.transcribe`` (its channel), safety poll ``every``,
    under a row of its own (``test.``: another test's hint does not carry over; purged after)."""
    rt: Runtime = app.state.runtime
    [job] = [j for j in recording_jobs(rt) if j.name == "telephony.recordings.transcribe"]
    assert job.wake_on is not None

    async def counted(session: AsyncSession) -> timedelta | None:
        runs.append(1)
        return await job.func(session)

    return dataclasses.replace(job, name=f"test.{job.name}", func=counted, every=every)


@contextlib.asynccontextmanager
async def scheduling(db: Database, job: ScheduledJob, waker: JobWaker) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(run_scheduler(db, MESSAGING, [job], stop, waker=waker))
    try:
        yield
    finally:
        stop.set()
        async with asyncio.timeout(30):
            await task


async def start_recording(app: FastAPI, db: Database, call: dict[str, uuid.UUID]) -> str:
    """The call's agent starts its recording in a committed transaction (the transcription is now
    pending); the call's SID."""
    agent = Principal(
        user_id=str(call["agent"]),
        email="agente@aintech.test",
        role=Role.agent,
        permissions=frozenset(),
        session_id=uuid.uuid4().hex,
        claims={},
    )
    async with db.transaction() as session:
        recorded = await calls.record(
            session, rt=app.state.runtime, principal=agent, call_id=call["call"], action="start"
        )
        assert recorded.transcription_status == "pending"
        assert recorded.call_sid is not None
        return recorded.call_sid


def requested(fake: FakeTwilio, sid: str) -> int:
    return len(fake.made(f"/Calls/{sid}/Transcriptions.json"))


async def test_a_started_recording_wakes_the_transcription_job_at_once(
    committed: Database, app: FastAPI, live_call: dict[str, uuid.UUID], fake_twilio: FakeTwilio
) -> None:
    runs: list[int] = []
    job = transcribe_job(app, runs)  # the safety poll is an hour away
    waker = JobWaker(committed, [job])
    async with scheduling(committed, job, waker):
        await eventually(lambda: _true(waker.listening.is_set() and len(runs) >= 1), within=30)
        sid = await start_recording(app, committed, live_call)
        await eventually(lambda: _true(requested(fake_twilio, sid) > 0), within=30)
    assert requested(fake_twilio, sid) == 1


async def test_a_transcription_whose_notification_was_lost_is_requested_at_the_safety_poll(
    committed: Database, app: FastAPI, live_call: dict[str, uuid.UUID], fake_twilio: FakeTwilio
) -> None:
    job = transcribe_job(app, [], every=timedelta(seconds=0.2))
    deaf = JobWaker(committed, [])  # listens on nothing: the recording's NOTIFY is lost
    async with scheduling(committed, job, deaf):
        sid = await start_recording(app, committed, live_call)
        await eventually(lambda: _true(requested(fake_twilio, sid) > 0), within=30)
    assert requested(fake_twilio, sid) == 1


async def _true(condition: bool) -> bool | None:
    return True if condition else None
