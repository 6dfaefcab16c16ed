"""scraper worker (python -m scraper.worker): assembles the runtime, the consumers, the jobs and the
job runner (the loop that claims scraping jobs and runs them)."""

from __future__ import annotations

import asyncio

from aintech_shared.db import Database
from aintech_shared.objectstore import close_store
from aintech_shared.worker import run_worker
from scraper.consumers import consumer_specs
from scraper.core.base import MESSAGING
from scraper.core.runtime import build_runtime
from scraper.jobs import jobs
from scraper.runner import Runner
from scraper.settings import Settings


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """The chassis worker with the job runner as one of its loops until SIGTERM/SIGINT (or ``stop``)."""
    stop = stop or asyncio.Event()
    rt = build_runtime(settings)
    db = Database(settings.service_database_url, schema=settings.db_schema, pool_size=4)
    runner = Runner(db, settings, rt.outbox, objects=rt.objects)
    try:
        await run_worker(
            settings, MESSAGING, consumers=consumer_specs(rt), jobs=jobs(rt), loops=[runner], stop=stop
        )
    finally:
        stop.set()
        await db.dispose()
        await close_store(rt.objects)


def main() -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(run(Settings()))


if __name__ == "__main__":
    main()
