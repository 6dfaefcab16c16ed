"""omnichannel HTTP and WebSocket API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from aintech_shared.app import create_service_app
from aintech_shared.db import Database
from omnichannel.campaigns.router import router as campaigns_router
from omnichannel.chat.router import router as chat_router
from omnichannel.core.live import LiveHub
from omnichannel.delivery.router import router as delivery_router
from omnichannel.inbox.router import router as inbox_router
from omnichannel.messaging import store as message_store
from omnichannel.messaging.router import router as messaging_router
from omnichannel.notifications import service as notifications
from omnichannel.notifications.router import router as notifications_router
from omnichannel.settings import Settings
from omnichannel.webhooks.router import router as webhooks_router

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


def resolver(db: Database) -> Any:
    """Rebuild a live event that was too large for NOTIFY from the database."""

    async def resolve(ref: dict[str, Any]) -> dict[str, Any] | None:
        async with db.transaction() as session:
            if "message_id" in ref:
                message = await message_store.get(session, message_id=uuid.UUID(ref["message_id"]))
                if message is None:
                    return None
                return {
                    "type": message.kind,
                    "seq": message.seq,
                    "message": message_store.message_out(message),
                }
            if "notification_id" in ref:
                return await notifications.resolve(session, notification_id=uuid.UUID(ref["notification_id"]))
        return None

    return resolve


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the omnichannel application."""
    settings = settings or Settings()

    @asynccontextmanager
    async def live_hub(app: FastAPI) -> AsyncIterator[None]:
        hub = LiveHub(app.state.db, resolver(app.state.db))
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
            webhooks_router,
        ],
        lifespan_hooks=[live_hub],
    )
