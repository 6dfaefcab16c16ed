"""What an idle worker waits for: a daily job's hour (not its first start), the relay's NOTIFY (not
its safety poll)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, time, timedelta

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import EventData, dead_letter_topic
from aintech_devtools.testing import ScratchSchema
from aintech_shared.events.outbox import Outbox, OutboxRelay
from aintech_shared.scheduler import ScheduledJob, _tick, run_job_if_due

from .conftest import create_topics

RUN = uuid.uuid4().hex[:8]
TOPIC = f"test.wakeups.{RUN}"


class PremiumDue(EventData, catalogued=False):
    event_type = f"premium.due.{RUN}"
    topic = TOPIC
    policy_id: str


async def test_a_daily_job_waits_for_its_hour_on_a_fresh_install_and_runs_when_overdue(
    scratch: ScratchSchema,
) -> None:
    db, tables = scratch.db, scratch.tables
    jobs = tables.scheduled_jobs
    runs = 0

    async def resegment(session: AsyncSession) -> None:
        nonlocal runs
        runs += 1

    async with db.transaction() as session:
        now = await session.scalar(select(func.now()))
    assert now is not None
    an_hour_ago = (now.astimezone(UTC) - timedelta(hours=1)).time()
    at = time(an_hour_ago.hour, an_hour_ago.minute)  # its next occurrence is ~23 h away
    job = ScheduledJob(f"resegment-{RUN}", timedelta(days=1), resegment, at=at)

    async def next_run() -> datetime:
        async with db.transaction() as session:
            found = await session.scalar(select(jobs.c.next_run_at).where(jobs.c.name == job.name))
        assert found is not None
        return found.astimezone(UTC)

    assert await run_job_if_due(db, tables, job) is False, "a fresh install does not run it at start"
    assert runs == 0
    first = await next_run()
    assert first.time() == at and now < first <= now + timedelta(days=1), "due at its next hour"

    async with db.transaction() as session:  # its own record says it is overdue (a missed day)
        await session.execute(
            update(jobs).where(jobs.c.name == job.name).values(next_run_at=func.now() - timedelta(days=1))
        )
    assert await run_job_if_due(db, tables, job) is True, "overdue by its record: runs at once"
    assert runs == 1
    after = await next_run()
    assert after.time() == at and now < after <= now + timedelta(days=1, minutes=5), "then at its hour"
    assert await run_job_if_due(db, tables, job) is False


async def test_the_scheduler_knows_how_long_until_its_next_job_is_due(scratch: ScratchSchema) -> None:
    """What the scheduler's sleep between looks is made of: an hourly job just run is next due in
    about an hour; one due now (here: never run) is run at once."""
    db, tables = scratch.db, scratch.tables
    runs: list[str] = []

    async def hourly(session: AsyncSession) -> None:
        runs.append("hourly")

    async def daily(session: AsyncSession) -> None:
        runs.append("daily")

    async with db.transaction() as session:
        now = await session.scalar(select(func.now()))
    assert now is not None
    an_hour_ago = (now.astimezone(UTC) - timedelta(hours=1)).time()
    jobs = [
        ScheduledJob(f"hourly-{RUN}", timedelta(hours=1), hourly),
        ScheduledJob(f"daily-{RUN}", timedelta(days=1), daily, at=time(an_hour_ago.hour, an_hour_ago.minute)),
    ]
    first = await _tick(db, tables, jobs)
    assert runs == ["hourly"], "the hourly job runs at first start, the daily one waits for its hour"
    assert first is not None and first <= 60, "a job just run or found due: looked at again soon"
    second = await _tick(db, tables, jobs)
    assert runs == ["hourly"]
    assert second is not None and 3000 < second <= 3600, "then not before the hourly job is due"


def test_a_time_of_day_is_only_for_daily_jobs() -> None:
    async def noop(session: AsyncSession) -> None:
        return None

    with pytest.raises(ValueError, match="daily"):
        ScheduledJob("hourly", timedelta(hours=1), noop, at=time(3, 0))


async def test_a_listening_relay_sends_on_notify_without_its_safety_poll(
    outbox_emptied_after: ScratchSchema, kafka_bootstrap: str
) -> None:
    """Both polling intervals an hour long: only the publish's NOTIFY can wake the relay."""
    db, tables = outbox_emptied_after.db, outbox_emptied_after.tables
    await create_topics(kafka_bootstrap, {TOPIC: 1, dead_letter_topic(TOPIC): 1})
    relay = OutboxRelay(db, tables, bootstrap=kafka_bootstrap, idle_interval=3600, listening_interval=3600)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    raw = AIOKafkaConsumer(
        TOPIC, bootstrap_servers=kafka_bootstrap, group_id=f"raw-{RUN}", auto_offset_reset="earliest"
    )
    await raw.start()
    try:
        deadline = asyncio.get_running_loop().time() + 60
        while not (relay.listening and relay.health.status == "ok"):
            assert asyncio.get_running_loop().time() < deadline, "the relay never started listening"
            await asyncio.sleep(0.05)  # listening, and its catch-up batch behind it
        policy = f"POL-{RUN}"
        async with db.transaction() as session:
            published = await Outbox(tables, source="tests").publish(
                session, PremiumDue(policy_id=policy), key=policy
            )
        found: CloudEvent | None = None
        while found is None and asyncio.get_running_loop().time() < deadline:
            for records in (await raw.getmany(timeout_ms=250)).values():
                for record in records:
                    if record.key == policy.encode():
                        found = CloudEvent.from_bytes(record.value or b"")
    finally:
        await raw.stop()
        stop.set()
        await task
    assert found is not None and found.id == published.id
