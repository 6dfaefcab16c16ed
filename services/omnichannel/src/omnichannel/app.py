"""omnichannel HTTP and WebSocket API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from aintech_shared.app import create_service_app
from omnichannel.agents import service as agents
from omnichannel.campaigns.router import router as campaigns_router
from omnichannel.chat.router import router as chat_router
from omnichannel.core.live import LiveHub
from omnichannel.delivery.router import router as delivery_router
from omnichannel.inbox.router import router as inbox_router
from omnichannel.messaging.router import router as messaging_router
from omnichannel.notifications.router import router as notifications_router
from omnichannel.settings import Settings
from omnichannel.webhooks.router import router as webhooks_router
from omnichannel.whatsapp.router import router as whatsapp_router

DESCRIPTION = """
WhatsApp and SMS (Twilio), e-mail (SendGrid), live chat, the notification centre, the unified
inbox and campaigns.

* Outbound messages are stored `queued` and sent by the worker; follow their `status`.
* Webhooks (`/webhooks/twilio/messaging`, `/webhooks/sendgrid/{inbound,events}`) are verified
  (Twilio signature, SendGrid ECDSA) and idempotent.
* WebSockets: `/ws/chat/{conversation_id}` (chat room), `/ws/inbox` (staff), `/ws/notifications`;
  through the gateway `/ws/omnichannel/...`. Protocol in docs/omnichannel.md.
* Errors are RFC 9457 `application/problem+json`; sending is rate-limited (429 with Retry-After).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the omnichannel application."""
    settings = settings or Settings()
    agents.configure_routing(settings)

    @asynccontextmanager
    async def live_hub(app: FastAPI) -> AsyncIterator[None]:
        hub = LiveHub(app.state.db)
        await hub.start()
        app.state.hub = hub
        try:
            yield
        finally:
            await hub.stop()

    return create_service_app(
        settings,
        title="AINTECH omnichannel",
        description=DESCRIPTION,
        routers=[
            messaging_router,
            inbox_router,
            chat_router,
            notifications_router,
            campaigns_router,
            delivery_router,
            whatsapp_router,
            webhooks_router,
        ],
        lifespan_hooks=[live_hub],
    )
