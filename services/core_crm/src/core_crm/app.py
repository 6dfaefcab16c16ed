"""core_crm HTTP API."""

from fastapi import FastAPI

from aintech_shared.app import create_service_app
from core_crm.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the core-crm application."""
    return create_service_app(
        settings or Settings(),
        title="AINTECH core-crm",
        description="Customers, policies, claims.",
    )
