"""omnichannel's transactional outbox (events are rows of the business transaction)."""

from __future__ import annotations

from omnichannel.core.runtime import OUTBOX

__all__ = ["DISPATCH_CHANNEL", "OUTBOX"]

# Woken by a NOTIFY on commit, the dispatcher sends queued messages without polling.
DISPATCH_CHANNEL = "omnichannel_dispatch"
