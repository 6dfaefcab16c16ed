"""telephony HTTP API."""

from fastapi import FastAPI

from aintech_shared.app import create_service_app
from telephony.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the telephony application."""
    return create_service_app(
        settings or Settings(),
        title="AINTECH telephony",
        description="Twilio voice: calls, queues, agents.",
    )
