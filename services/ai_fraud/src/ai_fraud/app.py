"""ai_fraud HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ai_fraud.cases.router import router as cases_router
from ai_fraud.core.runtime import build_runtime
from ai_fraud.models_registry.router import router as models_router
from ai_fraud.photos.router import router as photos_router
from ai_fraud.rings.router import router as rings_router
from ai_fraud.rules.router import router as rules_router
from ai_fraud.scoring.router import router as scoring_router
from ai_fraud.settings import Settings
from aintech_shared.app import create_service_app
from aintech_shared.objectstore import close_store

DESCRIPTION = """
One explained fraud score per claim, from rules (data, versioned), a calibrated model (registry
with promote and roll back) and rings of customers sharing identifiers. Reached through the
gateway at `/api/fraud/...`.

* **Access**: `fraud:review` (supervisors, admins, investigators) reads scores, rings and cases;
  `fraud:manage` edits rules and models. Customers never see fraud data.
* Every score says why: each firing rule, the model's probability and its main features, the
  ring and its shared links, in Spanish and English.
* Errors are RFC 9457 `application/problem+json`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ai-fraud application."""
    settings = settings or Settings()

    @asynccontextmanager
    async def runtime_hook(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = build_runtime(settings)
        try:
            yield
        finally:
            await close_store(app.state.runtime.objects)

    return create_service_app(
        settings,
        title="AINTECH ai-fraud",
        description=DESCRIPTION,
        routers=[scoring_router, rules_router, models_router, rings_router, photos_router, cases_router],
        lifespan_hooks=[runtime_hook],
    )
