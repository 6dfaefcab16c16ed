"""Messages between API replicas for the signalling rooms, on the chassis' LISTEN/NOTIFY hub
(``aintech_shared.live``: a WebRTC offer larger than NOTIFY's 8 kB travels in chunks; a dropped
LISTEN connection is re-opened with backoff and reported to the rooms as a gap)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared import live
from aintech_shared.db import Database
from aintech_shared.live import Message

CHANNEL = "telephony_signalling"


def call_ended(call_id: object) -> Message:
    """Tells every replica to close a call's signalling room (sent in the transaction ending it)."""
    return {"k": "end", "c": str(call_id)}


async def notify(session: AsyncSession, message: Message) -> None:
    """Stage ``message`` in the session's transaction: every replica gets it when it commits."""
    await live.notify(session, CHANNEL, message)


async def publish(db: Database, message: Message) -> None:
    """Send ``message`` to every replica at once (its own short transaction)."""
    await live.publish(db, CHANNEL, message)
