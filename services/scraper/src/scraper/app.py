"""scraper HTTP API."""

from fastapi import FastAPI

from aintech_shared.app import create_service_app
from scraper.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the scraper application."""
    return create_service_app(
        settings or Settings(),
        title="AINTECH scraper",
        description="Carrier-portal jobs.",
    )
