"""Scheduled jobs that run once per period across every replica of a service's worker.

A job's row (``scheduled_jobs``) says when it is next due. A job with a time of day (``at``, UTC)
is a daily job run at that hour: a fresh install (no row yet) waits for the next such hour instead
of running at first start, and each run sets the next one to that hour again. A job already
overdue by its own row runs as soon as a worker starts, as before.

A job with a NOTIFY channel (``wake_on``) is woken by the work that makes it due instead of
polling for it: the transaction that creates the work sends ``pg_notify(channel, '')`` (delivered
at its commit), every worker's scheduler LISTENs on its jobs' channels (:class:`JobWaker`, one
connection, reconnecting on loss) and runs a woken job at once, whatever its row says. Its
``every`` is then only the safety poll (30-60 s): a notification lost (a LISTEN connection
dropped and not yet re-established) delays the work by at most that, never loses it. A job whose
work is due at a time (a retry at, a step waiting until) returns how long until the next such
instant: its row is then due at that moment, not ``every`` later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import time, timedelta
from enum import Enum
from typing import Any

import structlog
from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from tenacity import RetryCallState

from aintech_shared.aio import Stopped, retrying, run_until_stopped, sleep_or_stop, wait_first
from aintech_shared.db import Database
from aintech_shared.events.faults import describe
from aintech_shared.events.tables import MessagingTables
from aintech_shared.health import LoopHealth

log = structlog.get_logger("aintech.scheduler")

# A job's run; it may return how long until its next piece of work is due (None: ``every``).
JobFunc = Callable[[AsyncSession], Awaitable[timedelta | None]]


@dataclass(frozen=True)
class ScheduledJob:
    """``func`` run every ``every``; with ``at`` (a UTC time of day) a daily job run at that hour;
    with ``wake_on`` (a NOTIFY channel) also at once whenever a notification arrives on it."""

    name: str
    every: timedelta
    func: JobFunc
    at: time | None = None
    wake_on: str | None = None

    def __post_init__(self) -> None:
        if self.at is not None and self.every != timedelta(days=1):
            raise ValueError(f"{self.name}: a time of day is for daily jobs (every is {self.every})")

    def next_run(self, due_in: timedelta | None = None) -> ColumnElement[Any]:
        """When the job is next due after a run (or on its first start), in the database's clock;
        ``due_in`` (what the run returned) brings it forward to its next piece of work."""
        if self.at is not None:
            return next_time_of_day(self.at)
        if due_in is not None and due_in < self.every:
            return func.now() + max(due_in, timedelta(0))
        return func.now() + self.every


class Outcome(Enum):
    RAN = "ran"
    NOT_DUE = "not due"
    HELD = "held by another replica"
    FAILED = "failed"


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
    """Run ``job`` if its period is due and no other replica holds it; True when it ran here."""
    return await run_job(db, tables, job, known=known) is Outcome.RAN


async def run_job(
    db: Database, tables: MessagingTables, job: ScheduledJob, *, known: bool = False, woken: bool = False
) -> Outcome:
    """Run ``job`` if its period is due (or it was ``woken`` by a notification of its work) and no
    other replica holds it.

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
            if row is None:
                return Outcome.HELD
            if row.next_run_at > row.now and not woken:
                return Outcome.NOT_DUE
            due_in = await job.func(session)
            await session.execute(
                update(jobs)
                .where(jobs.c.name == job.name)
                .values(
                    next_run_at=job.next_run(due_in if isinstance(due_in, timedelta) else None),
                    last_started_at=func.now(),
                    last_finished_at=func.clock_timestamp(),
                    last_error=None,
                    runs=jobs.c.runs + 1,
                )
            )
        return Outcome.RAN
    except Exception as exc:
        log.exception("scheduled_job_failed", job=job.name, error=repr(exc))
        retry = min(job.every, timedelta(minutes=1))
        async with db.transaction() as session:
            await session.execute(
                update(jobs)
                .where(jobs.c.name == job.name)
                .values(last_error=repr(exc)[:2000], next_run_at=func.now() + retry)
            )
        return Outcome.FAILED


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


async def _tick(
    db: Database,
    tables: MessagingTables,
    jobs: Sequence[ScheduledJob],
    woken: set[str] | None = None,
    tick: float = 1.0,
) -> float | None:
    """Run every due job once, and every job in ``woken`` (names taken from the set: a
    notification arriving meanwhile wakes it again); returns the seconds until a job may next be
    due (None: unknown). Raises when the database cannot be reached (a job's own failure is
    recorded on its row and retried at its next due time). An idle tick is one query, not two
    transactions per job."""
    roused = set(woken or ())
    if woken:
        woken.difference_update(roused)
    due, known, until_next = await _due(db, tables, jobs)
    due_names = {job.name for job in due}
    for job in jobs:
        if job.name not in due_names and job.name not in roused:
            continue
        outcome = await run_job(db, tables, job, known=job.name in known, woken=job.name in roused)
        if outcome is Outcome.HELD and job.name in roused and woken is not None:
            # Another replica is running it and may have read before the work committed: look
            # again after a tick rather than leave the work to the safety poll.
            woken.add(job.name)
            soonest = tick
        else:
            # Ran here, or held by another replica (which moves it on by its period when it is
            # done), or failed (retried within a minute): not due again sooner than that.
            soonest = min(job.every, timedelta(minutes=1)).total_seconds()
            if outcome is Outcome.RAN:  # its row now says when (perhaps sooner: its next work)
                soonest = min(soonest, tick)
        until_next = soonest if until_next is None else min(until_next, soonest)
    return until_next


class JobWaker:
    """One LISTEN connection on the NOTIFY channels of a worker's jobs (``wake_on``).

    A notification on a channel adds its jobs' names to ``woken`` and sets ``wakeup``. A lost
    connection is noticed by asyncpg's termination callback (no polling) and re-established with
    backoff; every job is then woken once (work committed while nobody listened is not left to
    the safety poll).
    """

    def __init__(self, db: Database, jobs: Iterable[ScheduledJob], *, backoff_max: float = 10.0) -> None:
        self.db = db
        self.channels: dict[str, list[str]] = {}
        for job in jobs:
            if job.wake_on is not None:
                self.channels.setdefault(job.wake_on, []).append(job.name)
        self.woken: set[str] = set()
        self.wakeup = asyncio.Event()
        self.listening = asyncio.Event()
        self.backend_pid: int | None = None
        self.backoff_max = backoff_max

    def _wake(self, names: Iterable[str]) -> None:
        self.woken.update(names)
        self.wakeup.set()

    def _on_notify(self, _conn: Any, _pid: int, channel: str, _payload: str) -> None:
        self._wake(self.channels.get(channel, ()))

    async def run(self, stop: asyncio.Event) -> None:
        if not self.channels:
            return
        backoff = 0.5
        while not stop.is_set():
            try:
                async with self.db.engine.connect() as conn:
                    raw = await conn.get_raw_connection()
                    driver: Any = raw.driver_connection
                    if driver is None:
                        raise RuntimeError("no driver connection to LISTEN on")
                    await self._hold(driver, stop)
                    backoff = 0.5
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away: the safety poll covers the gap
                log.warning("scheduler_listen_failed", error=repr(exc))
            if stop.is_set():
                return
            await sleep_or_stop(stop, backoff)
            backoff = min(backoff * 2, self.backoff_max)

    async def _hold(self, driver: Any, stop: asyncio.Event) -> None:
        """LISTEN on ``driver`` (an asyncpg connection) until ``stop`` or the connection is lost."""
        lost = asyncio.Event()

        def on_lost(_conn: Any) -> None:
            lost.set()

        driver.add_termination_listener(on_lost)
        try:
            for channel in self.channels:
                await driver.add_listener(channel, self._on_notify)
            self.backend_pid = driver.get_server_pid()
            self.listening.set()
            self._wake(name for names in self.channels.values() for name in names)
            await wait_first(stop, lost)
        finally:
            self.listening.clear()
            driver.remove_termination_listener(on_lost)
            if not driver.is_closed():
                for channel in self.channels:
                    await driver.remove_listener(channel, self._on_notify)


async def run_scheduler(
    db: Database,
    tables: MessagingTables,
    jobs: Sequence[ScheduledJob],
    stop: asyncio.Event,
    tick: float = 1.0,
    health: LoopHealth | None = None,
    max_sleep: float = 30.0,
    waker: JobWaker | None = None,
) -> None:
    """Run every job when due until ``stop`` is set; back off while the database is away.

    Between two looks at the job rows the scheduler sleeps until the earliest job is due, at
    least ``tick`` and at most ``max_sleep`` seconds (and a third of the loop's stall time): a
    worker whose jobs are hourly reads its rows twice a minute, not every second, and a job run
    by another replica in the meantime is seen on the next look. A notification on a job's
    ``wake_on`` channel ends the sleep and runs that job at once.
    """
    health = health or LoopHealth("scheduler")
    longest = max(tick, min(max_sleep, health.stall_seconds / 3))
    waker = waker or JobWaker(db, jobs)
    listening = asyncio.create_task(waker.run(stop), name="scheduler-listener")
    try:
        await _schedule(db, tables, jobs, stop, tick, health, longest, waker)
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)


async def _schedule(
    db: Database,
    tables: MessagingTables,
    jobs: Sequence[ScheduledJob],
    stop: asyncio.Event,
    tick: float,
    health: LoopHealth,
    longest: float,
    waker: JobWaker,
) -> None:

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
                    waker.wakeup.clear()
                    until_next = await run_until_stopped(stop, _tick(db, tables, jobs, waker.woken, tick))
        except Stopped:
            break
        except Exception:
            if stop.is_set():
                break
            raise
        health.progress()
        wait = tick if until_next is None else min(longest, max(tick, until_next))
        if waker.woken:  # woken while the tick ran (or a woken job held elsewhere): after a tick
            wait = tick
        await wait_first(stop, waker.wakeup, within=wait)
