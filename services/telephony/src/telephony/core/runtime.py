"""The one place telephony's runtime is built: settings, the outbox and the Twilio client.

The API builds it in its lifespan (``build_runtime``), the worker with the console adapter
(``worker_runtime``: jobs and consumers never call Twilio); requests reach it through ``RuntimeDep``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from aintech_shared.events.outbox import Outbox
from aintech_shared.objectstore import ObjectStore, object_store
from telephony.core.base import MESSAGING
from telephony.providers.console import ConsoleTwilio
from telephony.providers.port import TwilioPort
from telephony.providers.rest import TwilioRest
from telephony.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    outbox: Outbox
    twilio: TwilioPort
    store: ObjectStore  # the platform's object store (recordings)

    def webhook_url(self, path: str, **query: object) -> str:
        """A public URL of ours that Twilio will call (``path`` under /webhooks/twilio/voice)."""
        url = f"{self.settings.public_webhook_base_url.rstrip('/')}/webhooks/twilio/voice/{path}"
        if query:
            url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        return url


SOURCE = "telephony"


def build_twilio(settings: Settings) -> TwilioPort:
    """The official SDK when an account is configured, the console simulation otherwise."""
    return ConsoleTwilio(settings) if settings.console_mode else TwilioRest(settings)


def build_runtime(settings: Settings, *, twilio: TwilioPort | None = None) -> Runtime:
    """The API's runtime (``twilio`` replaces the adapter chosen from settings, e.g. in tests)."""
    return Runtime(
        settings=settings,
        outbox=Outbox(MESSAGING, source=SOURCE),
        twilio=twilio or build_twilio(settings),
        store=object_store(settings.object_store),
    )


def worker_runtime(settings: Settings) -> Runtime:
    """The worker's runtime: jobs and consumers only touch the database and the outbox, never Twilio
    (``rt.twilio`` is the console) — except the recordings job, which fetches and deletes recordings
    through ``recordings_twilio``."""
    return build_runtime(settings, twilio=ConsoleTwilio(settings))


def recordings_twilio(settings: Settings) -> TwilioPort:
    """The adapter the worker's recordings job downloads and deletes recordings with."""
    return build_twilio(settings)


def get_runtime(conn: HTTPConnection) -> Runtime:
    runtime: Runtime = conn.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
