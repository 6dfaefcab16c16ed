"""The CRM's scheduled jobs (each runs once per period across every replica).

The daily jobs run at a fixed UTC hour: the policy jobs just after the day (``today()``, UTC)
changes, the sweeps over every customer at night. A fresh install waits for that hour rather than
running them all at its first start; a job whose own record says it is overdue runs at start.
"""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.scheduler import ScheduledJob
from core_crm.core import transitions
from core_crm.core.base import today
from core_crm.core.runtime import Runtime
from core_crm.core.transactions import EngineTransactions
from core_crm.intake import service as intake
from core_crm.integrations import repository as webhook_deliveries
from core_crm.integrations import service as webhooks
from core_crm.policies import service as policies
from core_crm.profile import service as profile
from core_crm.quotes import service as quotes
from core_crm.renewals import auto as auto_renewals
from core_crm.workflows import repository as workflow_executions
from core_crm.workflows import service as workflows

DAILY = timedelta(days=1)


def jobs(rt: Runtime) -> list[ScheduledJob]:
    """Each runs once per period across all replicas (scheduled_jobs row locked for the run)."""

    async def announce_expiring(session: AsyncSession) -> None:
        await policies.announce_expiring(session, rt=rt)

    async def auto_renew(session: AsyncSession) -> None:
        # Renew what is due first (its own rows), then ask for the next terms coming up.
        await auto_renewals.renew_due(session, rt=rt, today=today())
        await auto_renewals.request_due(session, rt=rt, today=today())

    async def expire_policies(session: AsyncSession) -> None:
        await policies.expire_ended(session)

    async def expire_quotes(session: AsyncSession) -> None:
        await quotes.expire_overdue(session)

    async def resegment(session: AsyncSession) -> None:
        await profile.resegment_all(session, rt=rt)

    async def advance_workflows(session: AsyncSession) -> timedelta | None:
        # The job's own transaction only holds the job; runs commit as they go (webhook calls are
        # made between transactions). Next due when the earliest waiting execution is.
        await workflows.advance_due(EngineTransactions.beside(session), rt=rt)
        due = await workflow_executions.seconds_until_due(session)
        return None if due is None else timedelta(seconds=due)

    async def fire_schedules(session: AsyncSession) -> None:
        await workflows.fire_schedules(session)

    async def deliver_webhooks(session: AsyncSession) -> timedelta | None:
        # Deliveries are claimed and recorded in transactions of their own; calls go between them.
        # Next due when the earliest waiting delivery is (a retry's backoff).
        await webhooks.deliver_due(EngineTransactions.beside(session), rt=rt)
        due = await webhook_deliveries.seconds_until_due(session)
        return None if due is None else timedelta(seconds=due)

    async def purge_unmatched(session: AsyncSession) -> None:
        await intake.purge_unmatched(session, retention_days=rt.settings.unmatched_retention_days)

    async def forget_idempotency_keys(session: AsyncSession) -> None:
        await transitions.forget_old_keys(session)

    return [
        ScheduledJob("crm.policies.expire", DAILY, expire_policies, at=time(0, 5)),
        ScheduledJob("crm.policies.auto_renew", DAILY, auto_renew, at=time(0, 10)),
        ScheduledJob("crm.policies.expiring_soon", DAILY, announce_expiring, at=time(0, 15)),
        ScheduledJob("crm.quotes.expire", timedelta(hours=1), expire_quotes),
        ScheduledJob("crm.customers.resegment", DAILY, resegment, at=time(3, 0)),
        ScheduledJob(
            "crm.workflows.advance",
            timedelta(seconds=rt.settings.workflow_tick_seconds),
            advance_workflows,
            wake_on=workflow_executions.WAKE_CHANNEL,
        ),
        ScheduledJob("crm.workflows.schedules", timedelta(minutes=1), fire_schedules),
        ScheduledJob("crm.idempotency.forget", timedelta(hours=1), forget_idempotency_keys),
        ScheduledJob("crm.unmatched.purge", DAILY, purge_unmatched, at=time(3, 30)),
        ScheduledJob(
            "crm.integrations.deliver",
            timedelta(seconds=rt.settings.integration_tick_seconds),
            deliver_webhooks,
            wake_on=webhook_deliveries.WAKE_CHANNEL,
        ),
    ]
