"""quote_engine HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from aintech_shared.app import create_service_app
from quote_engine.core.runtime import build_runtime
from quote_engine.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the quote-engine application."""
    settings = settings or Settings()

    @asynccontextmanager
    async def runtime_hook(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = build_runtime(settings)
        yield

    return create_service_app(
        settings,
        title="AINTECH quote-engine",
        description="Rating and quotes.",
        lifespan_hooks=[runtime_hook],
    )
