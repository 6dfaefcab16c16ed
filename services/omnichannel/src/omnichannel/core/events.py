"""omnichannel's transactional outbox (events are rows of the business transaction)."""

from __future__ import annotations

from aintech_shared.events.outbox import Outbox
from omnichannel.core.base import MESSAGING

OUTBOX = Outbox(MESSAGING, source="omnichannel")

# Woken by a NOTIFY on commit, the dispatcher sends queued messages without polling.
DISPATCH_CHANNEL = "omnichannel_dispatch"
