"""Scheduled jobs that run once per period across every replica of a service's worker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.aio import sleep_or_stop
from aintech_shared.db import Database
from aintech_shared.events.tables import MessagingTables
from aintech_shared.health import Heartbeat

log = structlog.get_logger("aintech.scheduler")

JobFunc = Callable[[AsyncSession], Awaitable[None]]


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    every: timedelta
    func: JobFunc


async def run_job_if_due(db: Database, tables: MessagingTables, job: ScheduledJob) -> bool:
    """Run ``job`` if its period is due and no other replica holds it; True when it ran here.

    The job's row is locked with ``FOR UPDATE SKIP LOCKED`` for the whole run, so a replica that
    finds it locked skips it; the next due time advances in the same transaction as the job's work.
    """
    jobs = tables.scheduled_jobs
    async with db.transaction() as session:
        await session.execute(insert(jobs).values(name=job.name).on_conflict_do_nothing())
    try:
        async with db.transaction() as session:
            row = (
                await session.execute(
                    select(jobs.c.next_run_at, func.now().label("now"))
                    .where(jobs.c.name == job.name)
                    .with_for_update(skip_locked=True)
                )
            ).first()
            if row is None or row.next_run_at > row.now:
                return False
            await session.execute(
                update(jobs).where(jobs.c.name == job.name).values(last_started_at=func.now())
            )
            await job.func(session)
            await session.execute(
                update(jobs)
                .where(jobs.c.name == job.name)
                .values(
                    next_run_at=func.now() + job.every,
                    last_finished_at=func.now(),
                    last_error=None,
                    runs=jobs.c.runs + 1,
                )
            )
        return True
    except Exception as exc:
        log.exception("scheduled_job_failed", job=job.name, error=repr(exc))
        retry = min(job.every, timedelta(minutes=1))
        async with db.transaction() as session:
            await session.execute(
                update(jobs)
                .where(jobs.c.name == job.name)
                .values(last_error=repr(exc)[:2000], next_run_at=func.now() + retry)
            )
        return False


async def run_scheduler(
    db: Database,
    tables: MessagingTables,
    jobs: Sequence[ScheduledJob],
    stop: asyncio.Event,
    tick: float = 1.0,
    heartbeat: Heartbeat | None = None,
) -> None:
    """Check every job each ``tick`` seconds until ``stop`` is set."""
    while not stop.is_set():
        if heartbeat is not None:
            heartbeat.beat()
        for job in jobs:
            try:
                await run_job_if_due(db, tables, job)
            except Exception as exc:  # database unavailable: keep the loop alive
                log.warning("scheduler_tick_failed", job=job.name, error=repr(exc))
        await sleep_or_stop(stop, tick)
