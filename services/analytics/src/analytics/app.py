"""analytics HTTP API."""

from fastapi import FastAPI

from aintech_shared.app import create_service_app
from analytics.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the analytics application."""
    return create_service_app(
        settings or Settings(),
        title="AINTECH analytics",
        description="KPIs and reports.",
    )
