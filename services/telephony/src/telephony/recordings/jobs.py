"""The worker's recordings jobs: request live-call transcriptions; copy finished recordings into the
object store; purge expired ones."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.scheduler import ScheduledJob
from telephony.calls.repository import TRANSCRIBE_CHANNEL
from telephony.core.runtime import Runtime, recordings_twilio
from telephony.recordings import repository, service


def recording_jobs(rt: Runtime) -> list[ScheduledJob]:
    settings = rt.settings
    twilio = recordings_twilio(settings)

    async def archive(session: AsyncSession) -> None:
        await service.archive_pending(session, twilio=twilio, store=rt.store, settings=settings)

    async def transcribe(session: AsyncSession) -> timedelta | None:
        # Woken by the commit that marks a call pending; due again soon only while some are left
        # (a request Twilio refused, a full batch), else at the safety poll.
        await service.transcribe_pending(session, rt=rt, twilio=twilio)
        left = await repository.any_to_transcribe(session)
        return timedelta(seconds=settings.transcribe_every_seconds) if left else None

    async def purge(session: AsyncSession) -> None:
        await service.purge_expired(session, store=rt.store, settings=settings)

    return [
        ScheduledJob(
            "telephony.recordings.archive",
            timedelta(seconds=settings.recordings_archive_every_seconds),
            archive,
        ),
        ScheduledJob(
            "telephony.recordings.transcribe",
            timedelta(seconds=settings.transcribe_safety_poll_seconds),
            transcribe,
            wake_on=TRANSCRIBE_CHANNEL,
        ),
        ScheduledJob("telephony.recordings.purge", timedelta(hours=1), purge),
    ]
