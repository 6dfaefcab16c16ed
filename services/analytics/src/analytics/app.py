"""analytics HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from aintech_shared.app import create_service_app
from analytics.core.runtime import build_runtime
from analytics.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the analytics application."""
    settings = settings or Settings()

    @asynccontextmanager
    async def runtime_hook(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = build_runtime(settings)
        yield

    return create_service_app(
        settings,
        title="AINTECH analytics",
        description="KPIs and reports.",
        lifespan_hooks=[runtime_hook],
    )
