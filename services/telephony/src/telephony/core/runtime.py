"""Process-wide collaborators built once in the lifespan and reached through dependencies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from aintech_shared.events.outbox import Outbox
from telephony.providers.port import TwilioPort
from telephony.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    outbox: Outbox
    twilio: TwilioPort

    def webhook_url(self, path: str, **query: object) -> str:
        """A public URL of ours that Twilio will call (``path`` under /webhooks/twilio/voice)."""
        url = f"{self.settings.public_webhook_base_url.rstrip('/')}/webhooks/twilio/voice/{path}"
        if query:
            url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        return url


def get_runtime(conn: HTTPConnection) -> Runtime:
    runtime: Runtime = conn.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
