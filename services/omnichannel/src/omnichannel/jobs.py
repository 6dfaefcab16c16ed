"""omnichannel's scheduled jobs (each runs once per period across every replica)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.scheduler import ScheduledJob
from omnichannel.agents import service as agents
from omnichannel.campaigns import service as campaigns
from omnichannel.conversations import service as conversations
from omnichannel.core import ratelimit
from omnichannel.core.base import utcnow
from omnichannel.core.events import CAMPAIGNS_CHANNEL
from omnichannel.core.runtime import Runtime
from omnichannel.delivery import parking
from omnichannel.delivery.consumers import waiting_handlers
from omnichannel.notifications import slack

# Resolved parked deliveries are kept this long for inspection, then deleted (they hold customer data).
PARKED_RETENTION = timedelta(days=30)


def jobs(rt: Runtime) -> list[ScheduledJob]:
    """Campaign pacing every 2 s while a campaign runs (woken by its start or resume); snoozed
    conversations woken, the queue swept and parked deliveries released or expired every 15 s."""
    max_wait = timedelta(seconds=rt.settings.parked_delivery_max_wait_seconds)

    async def sweep(session: AsyncSession) -> None:
        await conversations.wake_snoozed(session)
        await agents.assign_queued(session)

    async def parked(session: AsyncSession) -> None:
        await parking.sweep(session, handlers=waiting_handlers(), max_wait=max_wait)

    async def purge(session: AsyncSession) -> None:
        await ratelimit.purge(session, before=utcnow() - timedelta(days=1))
        await parking.purge(session, before=utcnow() - PARKED_RETENTION)
        await slack.purge(session, before=utcnow() - PARKED_RETENTION)

    return [
        ScheduledJob(
            "omnichannel.campaigns", campaigns.PACE_SAFETY, campaigns.pace_job, wake_on=CAMPAIGNS_CHANNEL
        ),
        ScheduledJob("omnichannel.assignment", timedelta(seconds=15), sweep),
        ScheduledJob("omnichannel.parked_deliveries", timedelta(seconds=15), parked),
        ScheduledJob("omnichannel.purge_counters", timedelta(hours=1), purge),
    ]
