"""The worker entrypoint every service runs beside its API: outbox relay, consumers, scheduled jobs.

It also serves ``/healthz`` (every loop still beating) and ``/metrics`` (outbox and consumer
counters) on ``<SERVICE>_WORKER_PORT`` (default: the API port + 100).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence
from datetime import timedelta

import structlog
import uvicorn
from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.db import Database
from aintech_shared.events.consumer import ConsumerSpec, EventConsumer
from aintech_shared.events.outbox import OutboxRelay
from aintech_shared.events.tables import MessagingTables
from aintech_shared.health import EmbeddedServer, Heartbeat, health_app
from aintech_shared.logging import configure_logging
from aintech_shared.scheduler import ScheduledJob, run_scheduler
from aintech_shared.settings import ServiceSettings

log = structlog.get_logger("aintech.worker")

SENT_OUTBOX_RETENTION = timedelta(days=7)
PROCESSED_EVENT_RETENTION = timedelta(days=30)


def housekeeping_jobs(tables: MessagingTables) -> list[ScheduledJob]:
    """Jobs every worker runs: purge relayed outbox rows and old de-duplication records."""

    async def purge(session: AsyncSession) -> None:
        await session.execute(
            delete(tables.outbox).where(tables.outbox.c.sent_at < func.now() - SENT_OUTBOX_RETENTION)
        )
        await session.execute(
            delete(tables.processed_events).where(
                tables.processed_events.c.processed_at < func.now() - PROCESSED_EVENT_RETENTION
            )
        )

    return [ScheduledJob("messaging.purge", timedelta(hours=1), purge)]


async def run_worker(
    settings: ServiceSettings,
    tables: MessagingTables,
    *,
    consumers: Sequence[ConsumerSpec] = (),
    jobs: Sequence[ScheduledJob] = (),
    stop: asyncio.Event | None = None,
) -> None:
    """Run the relay, the consumers and the scheduler until SIGINT/SIGTERM or ``stop``."""
    configure_logging(f"{settings.service_name}-worker", level=settings.log_level, json=settings.log_json)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    db = Database(settings.service_database_url, schema=settings.db_schema, pool_size=4)
    relay = OutboxRelay(db, tables, bootstrap=settings.kafka_bootstrap)
    all_jobs = [*housekeeping_jobs(tables), *jobs]
    scheduler_beat = Heartbeat("scheduler")
    heartbeats = [relay.heartbeat, scheduler_beat]
    tasks = [
        asyncio.create_task(relay.run(stop), name="outbox-relay"),
        asyncio.create_task(
            run_scheduler(db, tables, all_jobs, stop, heartbeat=scheduler_beat), name="scheduler"
        ),
    ]
    for spec in consumers:
        consumer = EventConsumer(spec, db=db, tables=tables, bootstrap=settings.kafka_bootstrap)
        heartbeats.append(consumer.heartbeat)
        tasks.append(asyncio.create_task(consumer.run(stop), name=f"consumer:{spec.name}"))
    server = EmbeddedServer(
        uvicorn.Config(
            health_app(heartbeats, f"{settings.service_name}-worker"),
            host=settings.host,
            port=settings.worker_port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
    )
    health_task = asyncio.create_task(server.serve(), name="health-server")
    log.info(
        "worker_started",
        consumers=[c.name for c in consumers],
        jobs=[j.name for j in all_jobs],
        health=f"http://{settings.host}:{settings.worker_port}/healthz",
    )
    try:
        done, _ = await asyncio.wait(
            [*tasks, asyncio.create_task(stop.wait(), name="stop")], return_when=asyncio.FIRST_COMPLETED
        )
        for task in done:
            if task.get_name() != "stop" and task.exception() is not None:
                log.error("worker_task_crashed", task=task.get_name(), error=repr(task.exception()))
                raise task.exception()  # type: ignore[misc]
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        server.should_exit = True
        await asyncio.gather(health_task, return_exceptions=True)
        await db.dispose()
        log.info("worker_stopped")


def main(
    settings: ServiceSettings,
    tables: MessagingTables,
    *,
    consumers: Sequence[ConsumerSpec] = (),
    jobs: Sequence[ScheduledJob] = (),
) -> None:
    """Blocking entrypoint for ``python -m <service>.worker``."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(run_worker(settings, tables, consumers=consumers, jobs=jobs))
