"""scraper's scheduled jobs: each runs once per period across every replica (a row lock per job)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.scheduler import ScheduledJob
from scraper.core.runtime import Runtime
from scraper.proxies import service as proxies
from scraper.schedules import service as schedules
from scraper.scrape_jobs import service as scrape_jobs


def jobs(rt: Runtime) -> list[ScheduledJob]:
    """Queue due cron schedules, return lost jobs to the queue, delete expired failure artifacts,
    check the proxies' health."""

    async def queue_scheduled(session: AsyncSession) -> None:
        await schedules.queue_due(session, settings=rt.settings)

    async def expire_leases(session: AsyncSession) -> None:
        await scrape_jobs.expire_leases(session)

    async def purge_artifacts(session: AsyncSession) -> None:
        await scrape_jobs.purge_artifacts(session, objects=rt.objects)

    async def check_proxies(session: AsyncSession) -> None:
        await proxies.check_health(session, settings=rt.settings)

    return [
        ScheduledJob("scraper.proxy_health", timedelta(minutes=5), check_proxies),
        ScheduledJob("scraper.schedules", timedelta(seconds=30), queue_scheduled),
        ScheduledJob("scraper.leases", timedelta(seconds=30), expire_leases),
        ScheduledJob("scraper.artifact_retention", timedelta(hours=1), purge_artifacts),
    ]
