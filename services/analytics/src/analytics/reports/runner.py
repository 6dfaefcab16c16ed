"""The report job: generates queued reports in the process that owns the store (decision 0020),
never inside the request that asked for one.

``POST /reports/generate`` commits a queued row and hands its id to :meth:`ReportRunner.submit`;
the runner's task claims it, reads the figures through the KPI service, renders the PDF in a
thread, puts it in the object store and marks the row done, updating ``progress``/``step`` as
it goes. Every ``reports_poll_seconds`` (and at start) it also queues the reports of due cron
schedules and picks up queued rows another replica or a restart left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.objectstore import ObjectStore
from analytics.core.runtime import Runtime
from analytics.reports import content, render, service

log = structlog.get_logger(__name__)
CONTENT_TYPE = "application/pdf"


class Transactions(Protocol):
    """The database owner as the runner uses it (the app passes ``app.state.db``)."""

    def transaction(self) -> AbstractAsyncContextManager[AsyncSession]: ...


def object_key(report_id: uuid.UUID) -> str:
    return f"analytics/reports/{report_id}.pdf"


class ReportRunner:
    def __init__(self, rt: Runtime, db: Transactions, objects: ObjectStore) -> None:
        self.rt = rt
        self.db = db
        self.objects = objects
        self.queue: asyncio.Queue[uuid.UUID | None] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.finished: dict[uuid.UUID, asyncio.Event] = {}

    def submit(self, report_id: uuid.UUID) -> None:
        self.queue.put_nowait(report_id)

    def done_event(self, report_id: uuid.UUID) -> asyncio.Event:
        """Set when this process has finished (or failed) the report: what a test awaits."""
        return self.finished.setdefault(report_id, asyncio.Event())

    async def start(self) -> None:
        async with self.db.transaction() as session:
            await service.requeue_interrupted(session)
        self.task = asyncio.create_task(self._loop(), name="analytics-reports")

    async def stop(self) -> None:
        if self.task is not None:
            self.queue.put_nowait(None)
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self.task, timeout=10)
            if not self.task.done():
                self.task.cancel()

    async def _sweep(self) -> None:
        async with self.db.transaction() as session:
            await service.run_due_schedules(session, datetime.now(UTC))
        async with self.db.transaction() as session:
            for report_id in await service.queued_ids(session):
                self.queue.put_nowait(report_id)

    async def _loop(self) -> None:
        while True:
            try:
                await self._sweep()
            except Exception as exc:  # the database is away: try again at the next sweep
                log.warning("report_sweep_failed", error=repr(exc))
            try:
                report_id = await asyncio.wait_for(
                    self.queue.get(), timeout=self.rt.settings.reports_poll_seconds
                )
            except TimeoutError:
                continue
            if report_id is None:
                return
            await self.generate(report_id)
            while not self.queue.empty():
                next_id = self.queue.get_nowait()
                if next_id is None:
                    return
                await self.generate(next_id)

    async def generate(self, report_id: uuid.UUID) -> None:
        """Claim, compute, render, store, finish (or fail with the reason)."""
        async with self.db.transaction() as session:
            report = await service.claim(session, report_id)
        if report is None:
            return  # already taken or finished
        try:
            figures = await content.gather(self.rt.store, kind=report.kind, label=report.period)
            async with self.db.transaction() as session:
                await service.progress(session, report_id, 50, "drawing the charts and pages")
            pdf = await asyncio.to_thread(render.render, figures)
            async with self.db.transaction() as session:
                await service.progress(session, report_id, 90, "storing the PDF")
            stored = await self.objects.put(object_key(report_id), pdf, content_type=CONTENT_TYPE)
            async with self.db.transaction() as session:
                await service.finish(
                    self.rt, session, report_id, object_key=stored.key, size=stored.size, empty=figures.empty
                )
            log.info("report_generated", report_id=str(report_id), kind=report.kind, bytes=stored.size)
        except Exception as exc:
            log.exception("report_failed", report_id=str(report_id))
            async with self.db.transaction() as session:
                await service.fail(session, report_id, f"{type(exc).__name__}: {exc}")
        finally:
            self.done_event(report_id).set()
