"""The gateway's revoked-session feed waits as the chassis' idle consumers do (decision 0082):
caught up and quiet, its fetch is held and its loop turns seldom, and a revocation published while
it waits (here with an hour-long wait) is applied at once: the record ends the broker's wait."""

from __future__ import annotations

import time
import uuid

from aintech_devtools.api import eventually
from gateway.denylist import DenylistFeed, SessionDenylist
from gateway.settings import Settings

from .conftest import publish_revocation

HOUR = 3600.0


async def test_a_revocation_published_while_the_feed_waits_idle_is_applied_at_once(
    kafka_bootstrap: str,
) -> None:
    denylist = SessionDenylist()
    feed = DenylistFeed(Settings(kafka_bootstrap=kafka_bootstrap), denylist)
    feed.idle_fetch_wait, feed.idle_after = HOUR, 0.0
    await feed.start()
    try:

        async def idle() -> bool:
            return feed.idle

        await eventually(idle, within=30, what="the feed caught up and idle")
        sid = str(uuid.uuid4())
        await publish_revocation(kafka_bootstrap, [sid])

        async def denied() -> bool:
            return denylist.is_denied(sid, time.time())

        await eventually(denied, within=30, what="the revocation published while idle applied")
    finally:
        await feed.stop()
