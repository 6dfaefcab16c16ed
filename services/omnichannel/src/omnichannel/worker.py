"""omnichannel worker: outbox relay, consumers, scheduled jobs and the message dispatcher
(python -m omnichannel.worker)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.db import Database
from aintech_shared.scheduler import ScheduledJob
from aintech_shared.worker import run_worker
from omnichannel.agents import service as agents
from omnichannel.campaigns import service as campaigns
from omnichannel.conversations import service as conversations
from omnichannel.core import ratelimit
from omnichannel.core.base import utcnow
from omnichannel.delivery import parking
from omnichannel.delivery.consumers import consumer_specs, waiting_handlers
from omnichannel.delivery.dispatcher import Dispatcher
from omnichannel.models import MESSAGING
from omnichannel.providers.factory import build_providers
from omnichannel.settings import Settings

# Resolved parked deliveries are kept this long for inspection, then deleted (they hold customer data).
PARKED_RETENTION = timedelta(days=30)


def jobs(settings: Settings) -> list[ScheduledJob]:
    """Campaign pacing every 2 s; snoozed conversations woken, the queue swept and parked deliveries
    released or expired every 15 s."""
    max_wait = timedelta(seconds=settings.parked_delivery_max_wait_seconds)

    async def pace(session: AsyncSession) -> None:
        await campaigns.pace(session)

    async def sweep(session: AsyncSession) -> None:
        await conversations.wake_snoozed(session)
        await agents.assign_queued(session)

    async def parked(session: AsyncSession) -> None:
        await parking.sweep(session, handlers=waiting_handlers(), max_wait=max_wait)

    async def purge(session: AsyncSession) -> None:
        await ratelimit.purge(session, before=utcnow() - timedelta(days=1))
        await parking.purge(session, before=utcnow() - PARKED_RETENTION)

    return [
        ScheduledJob("omnichannel.campaigns", timedelta(seconds=2), pace),
        ScheduledJob("omnichannel.assignment", timedelta(seconds=15), sweep),
        ScheduledJob("omnichannel.parked_deliveries", timedelta(seconds=15), parked),
        ScheduledJob("omnichannel.purge_counters", timedelta(hours=1), purge),
    ]


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """The chassis worker with the dispatcher as one of its loops until SIGTERM/SIGINT (or ``stop``)."""
    stop = stop or asyncio.Event()
    db = Database(settings.service_database_url, schema=settings.db_schema, pool_size=4)
    providers = build_providers(settings, db)
    dispatcher = Dispatcher(db, settings, providers)
    try:
        await run_worker(
            settings,
            MESSAGING,
            consumers=consumer_specs(),
            jobs=jobs(settings),
            loops=[dispatcher],
            stop=stop,
        )
    finally:
        stop.set()
        await providers.close()
        await db.dispose()


def main() -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(run(Settings()))


if __name__ == "__main__":
    main()
