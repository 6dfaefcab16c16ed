"""The worker's queue jobs: each runs once per period across every replica (scheduled_jobs row lock)."""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.scheduler import ScheduledJob
from telephony.calls import service as calls
from telephony.core.runtime import Runtime
from telephony.queue import service

log = structlog.get_logger("telephony.queue")

# Twilio retries a webhook for minutes at most; a week of receipts absorbs any replay.
RECEIPT_RETENTION = timedelta(days=7)


def queue_jobs(rt: Runtime) -> list[ScheduledJob]:
    """Auto-assignment (every ``auto_assign_every_seconds``), escalation, webhook receipt purge."""
    settings = rt.settings

    async def auto_assign(session: AsyncSession) -> None:
        requeued = await service.requeue_unanswered(session, rt=rt)
        assigned = await service.assign_waiting(session, rt=rt)
        await service.metrics_by_skill(session, rt=rt)  # the worker's /metrics gauges per skill
        if requeued or assigned:
            log.info("queue_auto_assign", assigned=assigned, requeued=requeued)

    async def escalate(session: AsyncSession) -> None:
        raised = await service.escalate(session, rt=rt)
        if raised:
            log.info("queue_escalated", calls=[str(e.call_id) for e in raised])

    async def purge(session: AsyncSession) -> None:
        await calls.purge_receipts(session, older_than=RECEIPT_RETENTION)

    return [
        ScheduledJob(
            "telephony.queue.auto_assign", timedelta(seconds=settings.auto_assign_every_seconds), auto_assign
        ),
        ScheduledJob("telephony.queue.escalate", timedelta(seconds=10), escalate),
        ScheduledJob("telephony.purge_webhook_receipts", timedelta(hours=1), purge),
    ]
