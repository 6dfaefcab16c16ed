"""A worker process killed with SIGKILL while its job hangs on a portal: once the (short) lease
expires another worker resumes the job, which finishes exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from scraper.demo.portal import PRODUCTS

from .conftest import OBJECTS, Scraping

pytestmark = pytest.mark.slow

KILLED = "killed-worker"
WORKER = """
import asyncio, sys
from aintech_shared.db import Database
from scraper.core.runtime import build_runtime
from scraper.runner import Runner
from scraper.settings import Settings

async def main() -> None:
    settings = Settings()
    db = Database(settings.service_database_url, schema=settings.db_schema, pool_size=2)
    runner = Runner(db, settings, build_runtime(settings).outbox, name=sys.argv[1])
    await runner.run(asyncio.Event())

asyncio.run(main())
"""


async def _until(what: str, check: Callable[[], Awaitable[Any]], within: float = 60) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if found := await check():
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_job_of_a_sigkilled_worker_is_resumed_by_another_after_its_lease(scraping: Scraping) -> None:
    scraping.portal.state.modes["mapfre"] = "hang"
    scraping.portal.state.release.clear()
    job_id = await scraping.queue("mapfre")
    env = {
        **os.environ,
        "AINTECH_DATABASE_URL": scraping.settings.database_url,
        "AINTECH_OBJECT_STORE_ROOT": OBJECTS.name,
        "SCRAPER_LEASE_SECONDS": "3",
        "SCRAPER_PAGE_TIMEOUT_SECONDS": "300",
        "SCRAPER_POLL_SECONDS": "0.2",
        # One job at a time: the hanging job holds the only slot, so this worker never re-claims it
        # itself when its short lease runs out (its attempt stays the first).
        "SCRAPER_WORKER_PARALLEL_JOBS": "1",
        "SCRAPER_ALLOWED_HOSTS": '["127.0.0.1"]',
    }
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", WORKER, KILLED, env=env)
    try:

        async def hanging_in_the_portal() -> bool:
            job = await scraping.job(job_id)
            return job.status == "running" and job.lease_owner == KILLED and scraping.portal.state.waiting > 0

        await _until("the worker process to claim the job and hang on the portal", hanging_in_the_portal)
        os.kill(proc.pid, signal.SIGKILL)
        assert await asyncio.wait_for(proc.wait(), 30) == -signal.SIGKILL
    finally:
        if proc.returncode is None:
            proc.kill()
            await asyncio.wait_for(proc.wait(), 30)
    scraping.portal.state.modes["mapfre"] = "ok"
    scraping.portal.state.release.set()  # let the dead worker's pending request end

    async def resumed() -> str | None:
        outcome = await scraping.runner.run_once()
        return outcome if outcome is not None else None

    assert await _until("another worker to take the job after the lease", resumed) == "succeeded"
    job = await scraping.job(job_id)
    assert job.status == "succeeded" and job.attempts == 2 and job.lease_owner is None
    results = await scraping.rows("SELECT id FROM scraper.results WHERE job_id = :j", j=job_id)
    events = await scraping.rows(
        "SELECT seq FROM scraper.outbox WHERE event_type = 'carrier.price_observed' "
        "AND payload->'data'->>'job_id' = :j",
        j=str(job_id),
    )
    assert len(results) == len(events) == len(PRODUCTS["mapfre"]), "finished exactly once"
