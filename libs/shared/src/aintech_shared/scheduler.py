"""Scheduled jobs that run once per period across every replica of a service's worker.

A job's row (``scheduled_jobs``) says when it is next due. A job with a time of day (``at``, UTC)
is a daily job run at that hour: a fresh install (no row yet) waits for the next such hour instead
of running at first start, and each run sets the next one to that hour again. A job already
overdue by its own row runs as soon as a worker starts, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

import structlog
from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from tenacity import RetryCallState

from aintech_shared.aio import Stopped, retrying, run_until_stopped, sleep_or_stop
from aintech_shared.db import Database
from aintech_shared.events.faults import describe
from aintech_shared.events.tables import MessagingTables
from aintech_shared.health import LoopHealth

log = structlog.get_logger("aintech.scheduler")

JobFunc = Callable[[AsyncSession], Awaitable[None]]


@dataclass(frozen=True)
class ScheduledJob:
    """``func`` run every ``every``; with ``at`` (a UTC time of day) a daily job run at that hour."""

    name: str
    every: timedelta
    func: JobFunc
    at: time | None = None

    def __post_init__(self) -> None:
        if self.at is not None and self.every != timedelta(days=1):
            raise ValueError(f"{self.name}: a time of day is for daily jobs (every is {self.every})")

    def next_run(self) -> ColumnElement[Any]:
        """When the job is next due after a run (or on its first start), in the database's clock."""
        if self.at is None:
            return func.now() + self.every
        return next_time_of_day(self.at)


def next_time_of_day(at: time) -> ColumnElement[Any]:
    """The next instant strictly after the database's ``now()`` whose UTC time of day is ``at``."""
    utc_midnight = func.date_trunc("day", func.timezone("UTC", func.now()))
    today = func.timezone(
        "UTC", utc_midnight + timedelta(hours=at.hour, minutes=at.minute, seconds=at.second)
    )
    return case((today > func.now(), today), else_=today + timedelta(days=1))


async def run_job_if_due(
    db: Database, tables: MessagingTables, job: ScheduledJob, *, known: bool = False
) -> bool:
    """Run ``job`` if its period is due and no other replica holds it; True when it ran here.

    The job's row is locked with ``FOR UPDATE SKIP LOCKED`` for the whole run, so a replica that
    finds it locked skips it; the next due time advances in the same transaction as the job's work.
    A job seen for the first time is due at once, or, with a time of day, at the next such hour;
    ``known`` (its row was just read) skips creating the row. The run is one transaction of three
    statements around the job's own: its row locked, the job, its row moved on (``now()`` is the
    transaction's start: the run's start time).
    """
    jobs = tables.scheduled_jobs
    if not known:
        async with db.transaction() as session:
            first = insert(jobs).values(name=job.name)
            if job.at is not None:
                first = first.values(next_run_at=next_time_of_day(job.at))
            await session.execute(first.on_conflict_do_nothing())
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
            await job.func(session)
            await session.execute(
                update(jobs)
                .where(jobs.c.name == job.name)
                .values(
                    next_run_at=job.next_run(),
                    last_started_at=func.now(),
                    last_finished_at=func.clock_timestamp(),
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


async def _due(
    db: Database, tables: MessagingTables, jobs: Sequence[ScheduledJob]
) -> tuple[list[ScheduledJob], set[str], float | None]:
    """The jobs due now, or without a row yet, in one read of their rows (a job found due may
    still be running on another replica: :func:`run_job_if_due` decides under its lock); the names
    of the jobs with a row; and the seconds until the earliest of the others is due (None when
    every job is due now)."""
    rows = tables.scheduled_jobs
    async with db.transaction() as session:
        found = await session.execute(
            select(rows.c.name, func.extract("epoch", rows.c.next_run_at - func.now()))
        )  # every row of the schema (a few): no per-tick IN list to render
        mine = {job.name for job in jobs}
        left: dict[str, float] = {str(name): float(sec) for name, sec in found if name in mine}
    due = [job for job in jobs if left.get(job.name, 0.0) <= 0]
    waiting = [seconds for seconds in left.values() if seconds > 0]
    return due, set(left), min(waiting) if waiting else None


async def _tick(db: Database, tables: MessagingTables, jobs: Sequence[ScheduledJob]) -> float | None:
    """Run every due job once; returns the seconds until a job may next be due (None: unknown).
    Raises when the database cannot be reached (a job's own failure is recorded on its row and
    retried at its next due time). An idle tick is one query, not two transactions per job."""
    due, known, until_next = await _due(db, tables, jobs)
    for job in due:
        await run_job_if_due(db, tables, job, known=job.name in known)
        # Ran here, or held by another replica (which moves it on by its period when it is done),
        # or failed (retried within a minute): not due again sooner than that.
        soonest = min(job.every, timedelta(minutes=1)).total_seconds()
        until_next = soonest if until_next is None else min(until_next, soonest)
    return until_next


async def run_scheduler(
    db: Database,
    tables: MessagingTables,
    jobs: Sequence[ScheduledJob],
    stop: asyncio.Event,
    tick: float = 1.0,
    health: LoopHealth | None = None,
    max_sleep: float = 30.0,
) -> None:
    """Run every job when due until ``stop`` is set; back off while the database is away.

    Between two looks at the job rows the scheduler sleeps until the earliest job is due, at
    least ``tick`` and at most ``max_sleep`` seconds (and a third of the loop's stall time): a
    worker whose jobs are hourly reads its rows twice a minute, not every second, and a job run
    by another replica in the meantime is seen on the next look.
    """
    health = health or LoopHealth("scheduler")
    longest = max(tick, min(max_sleep, health.stall_seconds / 3))

    def on_retry(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        error = describe(exc) if exc else "unknown"
        health.failed(error)
        log.warning("scheduler_tick_failed", error=error, attempt=state.attempt_number)

    while not stop.is_set():
        until_next: float | None = None
        try:
            async for attempt in retrying(stop, initial=tick, maximum=30.0, on_retry=on_retry):
                with attempt:
                    until_next = await run_until_stopped(stop, _tick(db, tables, jobs))
        except Stopped:
            break
        except Exception:
            if stop.is_set():
                break
            raise
        health.progress()
        wait = tick if until_next is None else min(longest, max(tick, until_next))
        await sleep_or_stop(stop, wait)
