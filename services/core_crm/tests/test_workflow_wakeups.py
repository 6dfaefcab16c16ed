"""The workflow worker waits for its work: woken by the NOTIFY of the commit that queues an
execution, due again when a waiting step is, and only a slow safety poll otherwise (a lost
notification delays the run until that poll, here injected short, never loses it)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_devtools.api import eventually
from aintech_shared.scheduler import JobWaker, ScheduledJob, run_scheduler
from core_crm.core.base import MESSAGING
from core_crm.core.runtime import build_runtime
from core_crm.jobs import jobs

from .conftest import Live, crm_settings


def advance_job(runs: list[int]) -> ScheduledJob:
    """The worker's own ``crm.workflows.advance`` (its channel) with a five-minute safety poll."""
    settings = crm_settings(workflow_tick_seconds=300)
    [job] = [j for j in jobs(build_runtime(settings)) if j.name == "crm.workflows.advance"]
    assert job.wake_on is not None and job.every == timedelta(minutes=5)

    async def counted(session: AsyncSession) -> timedelta | None:
        runs.append(1)
        return await job.func(session)

    return dataclasses.replace(job, func=counted)


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


async def run_of(live: Live, steps: list[dict[str, Any]]) -> str:
    """Commit a manual execution of a new workflow with ``steps`` (the commit NOTIFYs the worker)."""
    customer = await live.customer()
    body = {"name": f"wf-{uuid.uuid4().hex[:6]}", "trigger": {"type": "manual"}, "steps": steps}
    workflow = (await live.call("POST", "/workflows", json=body, headers=live.supervisor, expect=201)).json()
    response = await live.call(
        "POST",
        f"/workflows/{workflow['id']}/execute",
        json={"data": {"customer_id": customer["id"]}},
        headers=live.supervisor,
        expect=202,
    )
    return str(response.json()["id"])


async def completed(live: Live, execution_id: str) -> dict[str, Any] | None:
    run = (await live.call("GET", f"/workflows/executions/{execution_id}", expect=200)).json()
    return dict(run) if run["status"] == "completed" else None


TASK = {"type": "create_task", "title": "Llamar a ${customer_id}", "priority": "high"}


async def test_a_queued_execution_wakes_the_worker_and_a_wait_step_makes_it_due_then(
    live: Live, live_app: FastAPI
) -> None:
    runs: list[int] = []
    job = advance_job(runs)
    waker = JobWaker(live_app.state.db, [job])
    async with scheduling(live_app, job, waker):
        await eventually(lambda: _true(waker.listening.is_set() and len(runs) >= 1), within=30)
        # the safety poll is five minutes away: the execute's NOTIFY runs the first step, whose
        # one-second wait makes the job due again a second later, not at the next poll
        execution_id = await run_of(live, [{"type": "wait_duration", "seconds": 1}, TASK])
        run = await eventually(lambda: completed(live, execution_id), within=30)
    assert run is not None and run["steps_completed"] == 2


async def test_an_execution_whose_notification_was_lost_runs_at_the_safety_poll(
    live: Live, live_app: FastAPI
) -> None:
    job = dataclasses.replace(advance_job([]), every=timedelta(seconds=0.2))
    deaf = JobWaker(live_app.state.db, [])  # listens on nothing: the execute's NOTIFY is lost
    async with scheduling(live_app, job, deaf):
        execution_id = await run_of(live, [TASK])
        run = await eventually(lambda: completed(live, execution_id), within=30)
    assert run is not None and run["steps_completed"] == 1


async def _true(condition: bool) -> bool | None:
    return True if condition else None
