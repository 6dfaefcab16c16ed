"""ai_fraud HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ai_fraud.core.runtime import build_runtime
from ai_fraud.settings import Settings
from aintech_shared.app import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ai-fraud application."""
    settings = settings or Settings()

    @asynccontextmanager
    async def runtime_hook(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = build_runtime(settings)
        yield

    return create_service_app(
        settings,
        title="AINTECH ai-fraud",
        description="Fraud scoring.",
        lifespan_hooks=[runtime_hook],
    )
