"""The worker's job loop: claim due jobs (up to ``SCRAPER_WORKER_PARALLEL_JOBS`` at once) and run
each through :func:`scraper.flows.run_job`. Database trouble is waited out, never fatal."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid

import structlog

from aintech_shared.aio import sleep_or_stop
from aintech_shared.db import Database
from aintech_shared.events.outbox import Outbox
from aintech_shared.health import LoopHealth
from aintech_shared.objectstore import ObjectStore, object_store
from scraper import flows
from scraper.scrape_jobs import service as jobs
from scraper.settings import Settings

log = structlog.get_logger("scraper.runner")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Runner:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        outbox: Outbox,
        *,
        name: str | None = None,
        engine_factory: flows.EngineFactory = flows.build_engine,
        objects: ObjectStore | None = None,
    ) -> None:
        self.db, self.settings, self.outbox = db, settings, outbox
        self.objects = objects or object_store(settings.object_store)
        self.name = name or worker_name()
        self.engine_factory = engine_factory
        self.health = LoopHealth("scrape-jobs")
        self._slots = asyncio.Semaphore(settings.worker_parallel_jobs)
        self._running: set[asyncio.Task[str]] = set()

    async def claim_one(self) -> jobs.Claimed | None:
        async with self.db.transaction() as session:
            return await jobs.claim_next(session, worker=self.name, lease_seconds=self.settings.lease_seconds)

    async def run_once(self) -> str | None:
        """Claim one job and run it to its outcome here (tests and benchmarks); None when idle."""
        job = await self.claim_one()
        if job is None:
            return None
        return await flows.run_job(
            self.db,
            self.settings,
            self.outbox,
            job,
            worker=self.name,
            objects=self.objects,
            engine_factory=self.engine_factory,
        )

    async def _run(self, job: jobs.Claimed) -> str:
        try:
            return await flows.run_job(
                self.db,
                self.settings,
                self.outbox,
                job,
                worker=self.name,
                objects=self.objects,
                engine_factory=self.engine_factory,
            )
        finally:
            self._slots.release()

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            await self._slots.acquire()
            try:
                job = await self.claim_one()
            except Exception as exc:
                self._slots.release()
                self.health.failed(repr(exc)[:300])
                log.warning("scrape_claim_failed", error=repr(exc)[:300])
                await sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, 30)
                continue
            backoff = 0.5
            self.health.progress()
            if job is None:
                self._slots.release()
                await sleep_or_stop(stop, self.settings.poll_seconds)
                continue
            task = asyncio.create_task(self._run(job), name=f"scrape:{job.id}")
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
