"""The rules of schedules: create, read, enable or disable, delete; queue the due ones. Never commits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.errors import NotFound
from scraper.core.base import utcnow
from scraper.schedules.models import Schedule
from scraper.schedules.repository import ScheduleRepository
from scraper.schedules.schemas import ScheduleIn
from scraper.scrape_jobs import service as jobs
from scraper.scrape_jobs.repository import JobRepository
from scraper.settings import Settings


def next_fire(cron: str, timezone: str, after: datetime) -> datetime:
    """The first instant after ``after`` that ``cron`` names, read in ``timezone`` (DST-aware)."""
    local = after.astimezone(ZoneInfo(timezone))
    fire: datetime = croniter(cron, local).get_next(datetime)
    return fire.astimezone(after.tzinfo)


async def create_schedule(
    session: AsyncSession, *, settings: Settings, body: ScheduleIn, created_by: uuid.UUID | None
) -> Schedule:
    """A schedule for a carrier and kind its adapter supports (422 otherwise)."""
    jobs.check_target(carrier=body.carrier, kind=body.kind)
    repo = ScheduleRepository(session)
    schedule = repo.add(
        Schedule(
            name=body.name,
            cron=body.cron,
            timezone=body.timezone,
            kind=body.kind,
            carrier=body.carrier,
            params=body.params,
            max_attempts=body.max_attempts,
            enabled=body.enabled,
            next_run_at=next_fire(body.cron, body.timezone, utcnow()),
            created_by=created_by,
        )
    )
    await repo.flush()
    return schedule


async def get_schedule(session: AsyncSession, *, schedule_id: uuid.UUID) -> Schedule:
    schedule = await ScheduleRepository(session).get(schedule_id)
    if schedule is None:
        raise NotFound(f"Schedule {schedule_id} does not exist.")
    return schedule


async def list_schedules(
    session: AsyncSession, *, after: list[Any] | None, limit: int
) -> tuple[list[Schedule], list[Any] | None]:
    return await ScheduleRepository(session).page(after=after, limit=limit)


async def set_enabled(session: AsyncSession, *, schedule_id: uuid.UUID, enabled: bool) -> Schedule:
    schedule = await ScheduleRepository(session).get(schedule_id, for_update=True)
    if schedule is None:
        raise NotFound(f"Schedule {schedule_id} does not exist.")
    if enabled and not schedule.enabled:
        schedule.next_run_at = next_fire(schedule.cron, schedule.timezone, utcnow())
    schedule.enabled = enabled
    return schedule


async def delete_schedule(session: AsyncSession, *, schedule_id: uuid.UUID) -> None:
    schedule = await ScheduleRepository(session).get(schedule_id, for_update=True)
    if schedule is None:
        raise NotFound(f"Schedule {schedule_id} does not exist.")
    await session.delete(schedule)


async def queue_due(session: AsyncSession, *, settings: Settings, now: datetime | None = None) -> int:
    """Queue a job for each due schedule (skipped while its previous job is still queued or
    running) and move the schedule to its next time; the count of jobs queued."""
    now = now or utcnow()
    queued = 0
    job_rows = JobRepository(session)
    for schedule in await ScheduleRepository(session).lock_due(now=now):
        schedule.next_run_at = next_fire(schedule.cron, schedule.timezone, now)
        if await job_rows.active_for_schedule(schedule_id=schedule.id):
            continue
        job = await jobs.create_job(
            session,
            settings=settings,
            kind=schedule.kind,
            carrier=schedule.carrier,
            params=dict(schedule.params),
            requested_by=schedule.created_by,
            max_attempts=schedule.max_attempts,
            schedule_id=schedule.id,
        )
        schedule.last_run_at, schedule.last_job_id = now, job.id
        queued += 1
    return queued
