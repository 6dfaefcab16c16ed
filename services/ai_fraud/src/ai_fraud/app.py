"""ai_fraud HTTP API."""

from fastapi import FastAPI

from ai_fraud.settings import Settings
from aintech_shared.app import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ai-fraud application."""
    return create_service_app(
        settings or Settings(),
        title="AINTECH ai-fraud",
        description="Fraud scoring.",
    )
