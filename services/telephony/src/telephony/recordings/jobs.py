"""The worker's recordings jobs: request live-call transcriptions; copy finished recordings into the
object store; purge expired ones."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.scheduler import ScheduledJob
from telephony.core.runtime import Runtime, recordings_twilio
from telephony.recordings import service


def recording_jobs(rt: Runtime) -> list[ScheduledJob]:
    settings = rt.settings
    twilio = recordings_twilio(settings)

    async def archive(session: AsyncSession) -> None:
        await service.archive_pending(session, twilio=twilio, store=rt.store, settings=settings)

    async def transcribe(session: AsyncSession) -> None:
        await service.transcribe_pending(session, rt=rt, twilio=twilio)

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
            timedelta(seconds=settings.transcribe_every_seconds),
            transcribe,
        ),
        ScheduledJob("telephony.recordings.purge", timedelta(hours=1), purge),
    ]
