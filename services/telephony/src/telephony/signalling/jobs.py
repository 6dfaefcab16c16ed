"""The worker's signalling housekeeping (runs once per period across every replica)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.scheduler import ScheduledJob
from telephony.signalling import service

# A live connection refreshes its row every few seconds; an hour-old row is long dead.
STALE_PRESENCE = timedelta(hours=1)


def signalling_jobs() -> list[ScheduledJob]:
    async def purge(session: AsyncSession) -> None:
        await service.purge_presence(session, older_than=STALE_PRESENCE)

    return [ScheduledJob("telephony.signalling.purge_presence", timedelta(minutes=10), purge)]
