"""scraper HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from aintech_shared.app import create_service_app
from aintech_shared.objectstore import close_store
from scraper.carriers.router import router as carriers_router
from scraper.core.runtime import build_runtime
from scraper.proxies.router import router as proxies_router
from scraper.results.router import router as results_router
from scraper.schedules.router import router as schedules_router
from scraper.scrape_jobs.router import router as jobs_router
from scraper.settings import Settings

DESCRIPTION = """
Carrier-portal jobs: fetch a carrier's prices for a risk, download and parse a policy document,
sync the portfolio. Reached through the gateway at `/api/scraper/...`.

* **Jobs** live in Postgres and are claimed by workers with `FOR UPDATE SKIP LOCKED` under a
  lease; a failed attempt is retried with exponential backoff and jitter up to `max_attempts`;
  each carrier's concurrency and start interval hold across every worker.
* **Errors** of an attempt are classified (`login_refused`, `layout_changed`, `blocked`,
  `rate_limited`, `timeout`, `site_down`, `invalid_document`, `unsafe_target`, `worker_lost`) and the
  page's screenshot and HTML are kept for the retention period.
* **Access**: `scraper:run` (supervisors, admins); carrier limits, proxies and portal accounts:
  admins. Errors are RFC 9457 `application/problem+json`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the scraper application."""
    settings = settings or Settings()

    @asynccontextmanager
    async def runtime_hook(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = build_runtime(settings)
        try:
            yield
        finally:
            await close_store(app.state.runtime.objects)

    app = create_service_app(
        settings,
        title="AINTECH scraper",
        description=DESCRIPTION,
        routers=[jobs_router, carriers_router, schedules_router, results_router, proxies_router],
        lifespan_hooks=[runtime_hook],
    )
    if settings.demo_portal_on:
        # Development only (the settings refuse it in production): the demo carrier portals the
        # worker scrapes on loopback, outside the OpenAPI document.
        from scraper.demo.portal import build_portal

        app.mount("/demo-portal", build_portal())
    return app
