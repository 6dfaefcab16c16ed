"""The daily churn job: score every customer up for renewal (next 90 days) and publish
``customer.churn_scored``. It runs in the API process, which owns the store (decision 0021), under
the chassis' scheduler (one replica per period, a row lock per job). Unlike the CRM's sweeps it
runs at a fresh install's first start: the demo's retention tasks and the quote engine's dynamic
pricing need scores on day one, and scoring the customers up for renewal is a short job."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.scheduler import ScheduledJob
from analytics.churn import service
from analytics.core.runtime import Runtime

JOB_NAME = "analytics.churn_daily"


def churn_job(rt: Runtime) -> ScheduledJob:
    async def run(session: AsyncSession) -> None:
        scores, record = await service.predict(rt.store, rt.settings, customer_ids=None)
        await service.publish(session, rt.outbox, scores, record)

    return ScheduledJob(JOB_NAME, timedelta(days=1), run)
