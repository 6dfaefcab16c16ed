"""The one place omnichannel's runtime is built: settings and the outbox (``build_runtime``).

The worker adds the providers (Twilio, SendGrid or the console adapters,
``providers.factory.build_providers``), handed to the dispatcher it runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from aintech_shared.events.outbox import Outbox
from omnichannel.core.base import MESSAGING
from omnichannel.settings import Settings

SOURCE = "omnichannel"

# Events are rows of the business transaction; one outbox per process.
OUTBOX = Outbox(MESSAGING, source=SOURCE)


@dataclass
class Runtime:
    settings: Settings
    outbox: Outbox


def build_runtime(settings: Settings) -> Runtime:
    return Runtime(settings=settings, outbox=OUTBOX)
