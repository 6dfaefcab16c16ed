"""telephony HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request

from aintech_shared.app import create_service_app
from telephony.agents.router import router as agents_router
from telephony.calls.router import router as calls_router
from telephony.calls.router import stats_router
from telephony.console.router import router as console_router
from telephony.core.runtime import build_runtime
from telephony.providers.port import TwilioPort
from telephony.queue.router import router as queue_router
from telephony.recordings.router import router as recordings_router
from telephony.settings import Settings
from telephony.signalling.hub import SignallingHub, presence_ttl
from telephony.signalling.router import router as signalling_router
from telephony.voice.router import router as voice_router

DESCRIPTION = """
Twilio voice for the broker's agents: softphone tokens, inbound IVR and queue, outbound calls,
transfers, hold, mute, recordings, agent status and statistics, and WebRTC signalling.

* **Calls** follow Twilio's statuses (queued → initiated → ringing → in-progress → completed, busy,
  no-answer, canceled or failed) and never move backwards; an illegal operation for the call's
  state is `409`.
* **Webhooks** (`/webhooks/twilio/voice/...`) are verified with `X-Twilio-Signature` against the URL
  Twilio called (`403` otherwise) and are idempotent per CallSid/RecordingSid and status.
* **Events**: `call.*`, `agent.status_changed`, `queue.*` and, for every ended call,
  `interaction.logged` for the CRM timeline.
* With no Twilio account configured the **console** adapter simulates Twilio and records every
  request (`GET /console/requests`).
* Errors are RFC 9457 `application/problem+json`.
"""


def create_app(settings: Settings | None = None, *, twilio: TwilioPort | None = None) -> FastAPI:
    """Build the telephony application (``twilio`` replaces the adapter chosen from settings)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def runtime_hook(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = build_runtime(settings, twilio=twilio)
        hub = SignallingHub(app.state.db, presence_ttl=presence_ttl(settings))
        app.state.signalling = hub
        await hub.start()
        try:
            yield
        finally:
            await hub.stop()
            await app.state.runtime.twilio.close()

    return create_service_app(
        settings,
        title="AINTECH telephony",
        description=DESCRIPTION,
        routers=[
            calls_router,
            recordings_router,
            agents_router,
            stats_router,
            queue_router,
            voice_router,
            console_router,
            signalling_router,
        ],
        lifespan_hooks=[runtime_hook],
        readiness={"signalling": signalling_ready},
    )


async def signalling_ready(request: Request) -> tuple[bool, dict[str, Any]]:
    """Ready when this replica hears the others' signalling (its LISTEN connection is up)."""
    hub: SignallingHub = request.app.state.signalling
    return hub.listening, {"listening": hub.listening, "connections": hub.connections}
