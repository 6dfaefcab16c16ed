"""analytics HTTP API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from aintech_shared.app import create_service_app
from aintech_shared.live import TopicHub
from aintech_shared.objectstore import close_store, object_store
from aintech_shared.scheduler import run_scheduler
from analytics.churn.job import churn_job
from analytics.churn.router import router as churn_router
from analytics.core.base import MESSAGING
from analytics.core.runtime import build_runtime
from analytics.dashboard import live
from analytics.dashboard.router import router as dashboard_router
from analytics.forecasts.router import router as forecasts_router
from analytics.ingest.consumer import Ingester
from analytics.ingest.facts import ingested_topics
from analytics.kpis.router import router as kpis_router
from analytics.reports.router import router as reports_router
from analytics.reports.runner import ReportRunner
from analytics.sentiment.router import router as sentiment_router
from analytics.settings import Settings
from analytics.store.schema import create_schema

DESCRIPTION = """
Every domain event in ClickHouse (chDB in process, or a ClickHouse server), and the insurance
KPIs read from it. Reached through the gateway at `/api/analytics/...`.

* **Access**: `analytics:read` (supervisors and admins).
* **Periods**: `start`/`end` (inclusive) up to `ANALYTICS_MAX_RANGE_DAYS`; every figure comes
  with the previous period of the same length and the same dates a year before.
* **Filters**: `carrier`, `line`, `province`, `agent`; a value no event has mentioned is a 422.
* **Dashboard**: the page `/api/analytics/ui` (public shell; it signs in through the platform) and
  the live socket `/ws/analytics/live` (a message after each stored batch).
* **Predictions**: churn risk per customer (`/predict/churn`, a calibrated gradient-boosting
  model; trained on a documented synthetic history while the store holds too few matured
  renewals), sales/claims/growth forecasts with 80% and 95% intervals (`/forecast/...`).
* **Reports**: `POST /reports/generate` (`type`, `period`) answers 202 and a job generates the
  PDF; `GET /reports/{id}` is its status, the PDF with `?format=pdf` or `Accept: application/pdf`.
  `/reports/schedules`: cron schedules that e-mail a report to staff.
* Formulas: docs/analytics.md. Errors are RFC 9457 `application/problem+json`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the analytics application."""
    settings = settings or Settings()

    @asynccontextmanager
    async def runtime_hook(app: FastAPI) -> AsyncIterator[None]:
        runtime = getattr(app.state, "runtime", None) or build_runtime(settings)
        app.state.runtime = runtime
        await create_schema(runtime.store)
        hub = TopicHub(app.state.db, live.CHANNEL)
        await hub.start()
        app.state.live = hub
        reports = ReportRunner(runtime, app.state.db, object_store(settings.object_store))
        await reports.start()
        app.state.reports = reports
        stop = asyncio.Event()
        task = None
        if settings.ingest_enabled:
            ingester = Ingester(
                runtime.store,
                bootstrap=settings.kafka_bootstrap,
                topics=ingested_topics(),
                group=settings.ingest_group,
                batch_rows=settings.ingest_batch_rows,
                flush_seconds=settings.ingest_flush_seconds,
                listeners=[live.announcer(hub)],
            )
            app.state.ingester = ingester
            task = asyncio.create_task(ingester.run(stop), name="analytics-ingest")
        tasks = [task] if task is not None else []
        if settings.churn_job_enabled:  # needs the store, so it runs here (decision 0021)
            tasks.append(
                asyncio.create_task(
                    run_scheduler(app.state.db, MESSAGING, [churn_job(runtime)], stop, tick=60.0),
                    name="analytics-churn-job",
                )
            )
        try:
            yield
        finally:
            stop.set()
            for running in tasks:
                try:
                    await asyncio.wait_for(running, timeout=10)
                except (TimeoutError, asyncio.CancelledError):
                    running.cancel()
            await reports.stop()
            await close_store(reports.objects)
            await hub.stop()
            await runtime.store.close()

    return create_service_app(
        settings,
        title="AINTECH analytics",
        description=DESCRIPTION,
        routers=[
            kpis_router,
            dashboard_router,
            churn_router,
            forecasts_router,
            sentiment_router,
            reports_router,
        ],
        lifespan_hooks=[runtime_hook],
    )
