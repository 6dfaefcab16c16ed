"""quote_engine HTTP API."""

from fastapi import FastAPI

from aintech_shared.app import create_service_app
from quote_engine.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the quote-engine application."""
    return create_service_app(
        settings or Settings(),
        title="AINTECH quote-engine",
        description="Rating and quotes.",
    )
