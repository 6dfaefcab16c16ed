"""A scheduled job woken by the work that makes it due (``wake_on``: a NOTIFY sent in the
producing transaction) instead of polling; its ``every`` is only the safety poll, and a run may say
when its next piece of work is due."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_devtools.testing import ScratchSchema
from aintech_shared.scheduler import JobWaker, ScheduledJob, run_job_if_due, run_scheduler

DEADLINE = 30.0


async def _until(condition: Callable[[], bool], what: str) -> None:
    async with asyncio.timeout(DEADLINE):
        while not condition():  # noqa: ASYNC110 - a plain condition on what the job recorded
            await asyncio.sleep(0.02)
    assert condition(), what


class Work:
    """Rows of work in the scratch schema's ledger, and what a job found when it ran."""

    def __init__(self, scratch: ScratchSchema) -> None:
        self.scratch = scratch
        self.channel = f"work_{uuid.uuid4().hex[:12]}"
        self.tag = uuid.uuid4().hex[:8]
        self.seen: list[set[str]] = []

    async def add(self, item: str, *, notify: bool) -> None:
        """Commit a piece of work, with the job's NOTIFY in the same transaction (or without)."""
        async with self.scratch.db.transaction() as session:
            await session.execute(insert(self.scratch.ledger).values(policy_id=item, event_id=self.tag))
            if notify:
                await session.execute(select(func.pg_notify(self.channel, "")))

    async def job(self, session: AsyncSession) -> None:
        ledger = self.scratch.ledger
        rows = await session.execute(select(ledger.c.policy_id).where(ledger.c.event_id == self.tag))
        self.seen.append({str(row[0]) for row in rows})

    def found(self, item: str) -> bool:
        return any(item in seen for seen in self.seen)


@pytest.fixture
async def work(scratch: ScratchSchema) -> Work:
    return Work(scratch)


@contextlib.asynccontextmanager
async def scheduling(work: Work, job: ScheduledJob, waker: JobWaker) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(run_scheduler(work.scratch.db, work.scratch.tables, [job], stop, waker=waker))
    try:
        yield
    finally:
        stop.set()
        async with asyncio.timeout(DEADLINE):
            await task


async def test_a_notified_job_runs_at_once_though_its_row_says_an_hour(work: Work) -> None:
    job = ScheduledJob(f"notified-{work.tag}", timedelta(hours=1), work.job, wake_on=work.channel)
    waker = JobWaker(work.scratch.db, [job])
    async with scheduling(work, job, waker):
        await _until(lambda: waker.listening.is_set() and len(work.seen) >= 1, "the first run at start")
        await work.add("claim-1", notify=True)
        # the safety poll is an hour away: only the NOTIFY at commit can run it now
        await _until(lambda: work.found("claim-1"), "the work committed with a NOTIFY is picked up")
        await work.add("claim-2", notify=True)
        await _until(lambda: work.found("claim-2"), "and the next one")


async def test_a_lost_notification_is_picked_up_by_the_safety_poll(work: Work) -> None:
    job = ScheduledJob(f"safety-{work.tag}", timedelta(seconds=0.2), work.job, wake_on=work.channel)
    deaf = JobWaker(work.scratch.db, [])  # listens on nothing: every notification is lost
    async with scheduling(work, job, deaf):
        await work.add("claim-lost", notify=True)
        await _until(lambda: work.found("claim-lost"), "found by the (here 0.2 s) safety poll")


async def test_work_committed_while_the_listener_was_away_runs_when_it_reconnects(work: Work) -> None:
    first_pid: list[int | None] = []
    after_reconnect: list[set[str]] = []  # what runs on the new LISTEN connection found

    async def job(session: AsyncSession) -> None:
        await work.job(session)
        if first_pid and waker.backend_pid != first_pid[0]:
            after_reconnect.append(work.seen[-1])

    scheduled = ScheduledJob(f"reconnect-{work.tag}", timedelta(hours=1), job, wake_on=work.channel)
    waker = JobWaker(work.scratch.db, [scheduled], backoff_max=0.5)
    async with scheduling(work, scheduled, waker):
        await _until(lambda: waker.listening.is_set() and len(work.seen) >= 1, "the first run at start")
        first_pid.append(waker.backend_pid)
        await work.add("unannounced", notify=False)  # nobody told: its row still says an hour
        async with work.scratch.db.transaction() as session:
            await session.execute(select(func.pg_terminate_backend(first_pid[0])))
        # a run left over from the start may see the row before the connection is killed; only a
        # run after the reconnect (the safety poll is an hour away) proves the wake on reconnect
        await _until(
            lambda: any("unannounced" in seen for seen in after_reconnect),
            "every job woken once the LISTEN is back",
        )


async def test_a_run_that_names_its_next_work_makes_the_job_due_then(work: Work) -> None:
    db, tables = work.scratch.db, work.scratch.tables

    async def retry_in_five_seconds(session: AsyncSession) -> timedelta:
        return timedelta(seconds=5)

    async def nothing_pending(session: AsyncSession) -> None:
        return None

    names = {"soon": f"soon-{work.tag}", "idle": f"idle-{work.tag}"}
    soon = ScheduledJob(names["soon"], timedelta(hours=1), retry_in_five_seconds)
    idle = ScheduledJob(names["idle"], timedelta(hours=1), nothing_pending)
    assert await run_job_if_due(db, tables, soon) and await run_job_if_due(db, tables, idle)
    rows = tables.scheduled_jobs
    async with db.transaction() as session:
        due = dict(
            (
                await session.execute(
                    select(rows.c.name, rows.c.next_run_at - rows.c.last_started_at).where(
                        rows.c.name.in_(list(names.values()))
                    )
                )
            ).all()
        )
    assert due[names["soon"]] == timedelta(seconds=5), "due when its next piece of work is"
    assert due[names["idle"]] == timedelta(hours=1), "nothing named: its period"
