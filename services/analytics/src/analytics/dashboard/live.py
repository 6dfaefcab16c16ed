"""Live updates: after each ingested batch, one ``ingested`` event on the ``analytics_live`` channel
(Postgres LISTEN/NOTIFY through :class:`aintech_shared.live.TopicHub`, so every replica's sockets
hear it, whichever replica ingested the batch)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from aintech_contracts.envelope import CloudEvent
from aintech_shared.live import TopicHub

CHANNEL = "analytics_live"
TOPIC = "ingested"


def announcer(live: TopicHub) -> Callable[[Sequence[CloudEvent]], Awaitable[None]]:
    """The ingester's listener: tells the dashboards which event types just arrived."""

    async def announce(events: Sequence[CloudEvent]) -> None:
        if events:
            types = sorted({e.type for e in events})[:50]
            await live.publish_now(TOPIC, {"type": TOPIC, "count": len(events), "types": types})

    return announce
