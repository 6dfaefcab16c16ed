"""omnichannel HTTP API."""

from fastapi import FastAPI

from aintech_shared.app import create_service_app
from omnichannel.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the omnichannel application."""
    return create_service_app(
        settings or Settings(),
        title="AINTECH omnichannel",
        description="WhatsApp, SMS, e-mail, chat.",
    )
