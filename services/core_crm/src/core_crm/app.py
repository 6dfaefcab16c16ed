"""core_crm HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from aintech_shared.app import create_service_app
from aintech_shared.objectstore import close_store
from core_crm.claims.router import router as claims_router
from core_crm.core import actor
from core_crm.core.runtime import build_runtime
from core_crm.customers.router import router as customers_router
from core_crm.fraud.router import router as fraud_router
from core_crm.gdpr.router import router as gdpr_router
from core_crm.intake.router import router as intake_router
from core_crm.integrations.router import router as integrations_router
from core_crm.interactions.router import router as interactions_router
from core_crm.leads.router import router as leads_router
from core_crm.policies.router import router as policies_router
from core_crm.profile.router import router as profile_router
from core_crm.proposals.router import router as proposals_router
from core_crm.quotes.router import router as quotes_router
from core_crm.settings import Settings
from core_crm.tasks.router import router as tasks_router
from core_crm.trail.router import router as trail_router
from core_crm.workflows.router import router as workflows_router

DESCRIPTION = """
The broker's system of record: customers, policies, claims, quotes, interactions, tasks and
workflows. Reached through the gateway at `/api/crm/...`.

* **Access**: staff by permission (`customers:read`, `policies:write`, `claims:approve`, …);
  customers through `self:service`, and only ever their own records — another customer's id
  answers 404, so ids cannot be probed.
* **Optimistic locking**: customers, policies and claims carry an `ETag` (their version);
  updates need `If-Match` (stale: 412, missing: 428).
* **Lists** use cursor pagination (`next_cursor`).
* **Money** is a decimal string (`"612.40"`), dates ISO 8601, instants UTC.
* Errors are RFC 9457 `application/problem+json`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the core-crm application."""
    settings = settings or Settings()

    @asynccontextmanager
    async def runtime_hook(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = build_runtime(settings)
        actor.install(app.state.db.engine)
        try:
            yield
        finally:
            await close_store(app.state.runtime.objects)

    return create_service_app(
        settings,
        title="AINTECH core-crm",
        description=DESCRIPTION,
        routers=[
            customers_router,
            policies_router,
            proposals_router,
            claims_router,
            fraud_router,
            quotes_router,
            interactions_router,
            intake_router,
            tasks_router,
            profile_router,
            gdpr_router,
            workflows_router,
            trail_router,
            integrations_router,
            leads_router,
        ],
        lifespan_hooks=[runtime_hook],
    )
