"""ai_fraud HTTP API."""

from fastapi import FastAPI

from aintech_shared.app import create_service_app
from ai_fraud.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ai-fraud application."""
    return create_service_app(
        settings or Settings(),
        title="AINTECH ai-fraud",
        description="Fraud scoring.",
    )
