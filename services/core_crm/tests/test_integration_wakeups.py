"""The webhook delivery job waits for its work: woken by the NOTIFY of the commit that queues a
delivery (an event fanned out to a subscription), and only a slow safety poll otherwise (a lost
notification delays the delivery until that poll, here injected short, never loses it)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_devtools.api import eventually
from aintech_shared.scheduler import JobWaker, ScheduledJob, run_scheduler
from core_crm.core.base import MESSAGING
from core_crm.core.runtime import build_runtime
from core_crm.integrations import service as webhooks
from core_crm.jobs import jobs

from .conftest import Live, crm_settings
from .test_integrations import Target, _admin, _subscribe, target  # noqa: F401 - the fixture


def deliver_job(runs: list[int], *, every: timedelta = timedelta(hours=1)) -> ScheduledJob:
    """The worker's own ``crm.integrations.deliver`` (its channel), safety poll ``every``, under a
    row of its own (another test's due time does not carry over)."""
    [job] = [j for j in jobs(build_runtime(crm_settings())) if j.name == "crm.integrations.deliver"]
    assert job.wake_on is not None

    async def counted(session: AsyncSession) -> timedelta | None:
        runs.append(1)
        return await job.func(session)

    return dataclasses.replace(job, name=f"test.{job.name}.{uuid.uuid4().hex[:8]}", func=counted, every=every)


@contextlib.asynccontextmanager
async def scheduling(app: FastAPI, job: ScheduledJob, waker: JobWaker) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(run_scheduler(app.state.db, MESSAGING, [job], stop, waker=waker))
    try:
        yield
    finally:
        stop.set()
        async with asyncio.timeout(30):
            await task


async def queue_delivery(live: Live, app: FastAPI, url: str) -> None:
    """A subscription to customer.created and a new customer's event fanned out to it (committed)."""
    await _subscribe(live, url, ["customer.created"], _admin(live))
    customer = await live.customer()
    [payload] = await live.events("customer.created", key=customer["id"])
    async with app.state.db.transaction() as session:
        assert await webhooks.fan_out(session, event=CloudEvent.model_validate(payload)) >= 1


async def test_a_queued_delivery_wakes_the_delivery_job_at_once(
    live: Live,
    live_app: FastAPI,
    target: Target,  # noqa: F811 - the fixture imported above
) -> None:
    runs: list[int] = []
    job = deliver_job(runs)  # the safety poll is an hour away
    waker = JobWaker(live_app.state.db, [job])
    async with scheduling(live_app, job, waker):
        await eventually(lambda: _true(waker.listening.is_set() and len(runs) >= 1), within=30)
        await queue_delivery(live, live_app, target.url)
        await eventually(lambda: _true(bool(target.succeeded)), within=30)
    assert len(target.succeeded) == 1


async def test_a_delivery_whose_notification_was_lost_is_sent_at_the_safety_poll(
    live: Live,
    live_app: FastAPI,
    target: Target,  # noqa: F811 - the fixture imported above
) -> None:
    job = deliver_job([], every=timedelta(seconds=0.2))
    deaf = JobWaker(live_app.state.db, [])  # listens on nothing: the fan-out's NOTIFY is lost
    async with scheduling(live_app, job, deaf):
        await queue_delivery(live, live_app, target.url)
        await eventually(lambda: _true(bool(target.succeeded)), within=30)
    assert len(target.succeeded) == 1


async def _true(condition: bool) -> bool | None:
    return True if condition else None
