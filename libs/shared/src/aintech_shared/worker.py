"""The worker entrypoint every service runs beside its API: outbox relay, consumers, scheduled jobs.

It also serves ``/healthz`` (503 naming any stalled loop, see :mod:`aintech_shared.health`) and
``/metrics`` (outbox, consumer and per-loop counters) on ``<SERVICE>_WORKER_PORT`` (default: the
API port + 100). On SIGTERM/SIGINT every loop's sleeps wake at once; loops still busy after
``AINTECH_WORKER_SHUTDOWN_GRACE_SECONDS`` are cancelled (uncommitted work is redelivered and
de-duplicated), so the worker exits well within a 30 s termination grace period.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

import structlog
import uvicorn
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared import tracing
from aintech_shared.db import Database
from aintech_shared.events.consumer import ConsumerSpec, EventConsumer
from aintech_shared.events.outbox import OutboxRelay
from aintech_shared.events.tables import MessagingTables
from aintech_shared.health import (
    DEFAULT_MAX_FAILURES,
    DEFAULT_STALL_SECONDS,
    EmbeddedServer,
    LoopHealth,
    health_app,
)
from aintech_shared.logging import configure_logging
from aintech_shared.scheduler import ScheduledJob, run_scheduler
from aintech_shared.settings import ServiceSettings
from aintech_shared.watchdog import LoopWatchdog

log = structlog.get_logger("aintech.worker")


class WorkerSettings(BaseSettings):
    """Fleet-wide worker tuning (``AINTECH_WORKER_*``)."""

    model_config = SettingsConfigDict(env_prefix="AINTECH_WORKER_", extra="ignore")

    stall_failures: int = Field(
        default=DEFAULT_MAX_FAILURES, ge=1, description="Consecutive failures after which a loop is stalled."
    )
    stall_seconds: float = Field(
        default=DEFAULT_STALL_SECONDS,
        gt=0,
        description="Seconds without progress, while work is waiting, after which a loop is stalled.",
    )
    shutdown_grace_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long loops may finish their step after SIGTERM before cancellation.",
    )


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


class WorkerLoop(Protocol):
    """A service's own long-running loop run by the worker beside the relay and the consumers
    (e.g. a message dispatcher): it reports to ``health`` and returns once ``stop`` is set."""

    health: LoopHealth

    async def run(self, stop: asyncio.Event) -> None: ...


async def run_worker(
    settings: ServiceSettings,
    tables: MessagingTables,
    *,
    consumers: Sequence[ConsumerSpec] = (),
    jobs: Sequence[ScheduledJob] = (),
    loops: Sequence[WorkerLoop] = (),
    stop: asyncio.Event | None = None,
    tuning: WorkerSettings | None = None,
) -> None:
    """Run the relay, the consumers, the scheduler and the service's own ``loops`` until
    SIGINT/SIGTERM or ``stop``; every loop's health is on the worker's ``/healthz``."""
    configure_logging(
        f"{settings.service_name}-worker",
        level=settings.log_level,
        json=settings.log_json,
        queue_lines=settings.log_queue_lines,
    )
    tracing.configure(f"{settings.service_name}-worker")  # on only when OTLP is configured
    tuning = tuning or WorkerSettings()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    watchdog = LoopWatchdog(settings.loop_stall_ms) if settings.loop_stall_ms > 0 else None
    if watchdog is not None:
        watchdog.start()
    failures, stall = tuning.stall_failures, tuning.stall_seconds
    db = Database(settings.service_database_url, schema=settings.db_schema, pool_size=4)
    relay = OutboxRelay(
        db, tables, bootstrap=settings.kafka_bootstrap, max_failures=failures, stall_seconds=stall
    )
    all_jobs = [*housekeeping_jobs(tables), *jobs]
    scheduler_health = LoopHealth("scheduler", max_failures=failures, stall_seconds=stall)
    healths = [relay.health, scheduler_health]
    tasks = [
        asyncio.create_task(relay.run(stop), name="outbox-relay"),
        asyncio.create_task(
            run_scheduler(db, tables, all_jobs, stop, health=scheduler_health), name="scheduler"
        ),
    ]
    for spec in consumers:
        consumer = EventConsumer(
            spec,
            db=db,
            tables=tables,
            bootstrap=settings.kafka_bootstrap,
            max_failures=failures,
            stall_seconds=stall,
        )
        healths.append(consumer.health)
        tasks.append(asyncio.create_task(consumer.run(stop), name=f"consumer:{spec.name}"))
    for extra in loops:
        healths.append(extra.health)
        tasks.append(asyncio.create_task(extra.run(stop), name=extra.health.name))
    server = EmbeddedServer(
        uvicorn.Config(
            health_app(healths, f"{settings.service_name}-worker"),
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
        loops=[extra.health.name for extra in loops],
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
        log.info("worker_stopping", grace_seconds=tuning.shutdown_grace_seconds)
        _, busy = await asyncio.wait(tasks, timeout=tuning.shutdown_grace_seconds)
        for task in busy:
            log.warning("worker_task_cancelled", task=task.get_name())
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        server.should_exit = True
        await asyncio.gather(health_task, return_exceptions=True)
        try:
            await asyncio.wait_for(db.dispose(), timeout=5)
        except Exception as exc:  # an unreachable database cannot be said goodbye to
            log.warning("worker_db_dispose_failed", error=repr(exc))
        if watchdog is not None:
            watchdog.stop()
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
