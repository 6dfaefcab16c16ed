"""Omnichannel's live topics (chat rooms, the staff inbox, each user's notifications) on the
chassis' LISTEN/NOTIFY hub (``aintech_shared.live``: chunking past NOTIFY's 8 kB, reconnect,
``resync`` after a gap so chat resumes from its last sequence number)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared import live
from aintech_shared.db import Database
from aintech_shared.live import RESYNC, Subscription, TopicHub

__all__ = [
    "CHANNEL",
    "INBOX_TOPIC",
    "RESYNC",
    "LiveHub",
    "Subscription",
    "chat_topic",
    "notify",
    "user_topic",
]

CHANNEL = "omnichannel_live"
INBOX_TOPIC = "inbox"


def chat_topic(conversation_id: object) -> str:
    return f"chat:{conversation_id}"


def user_topic(user_id: object) -> str:
    return f"user:{user_id}"


async def notify(session: AsyncSession, topic: str, event: dict[str, Any]) -> None:
    """Stage a live event; it reaches every replica's subscribers when the transaction commits."""
    await live.notify(session, CHANNEL, {"t": topic, "e": event})


class LiveHub(TopicHub):
    """This replica's subscriptions to omnichannel's live topics."""

    def __init__(self, db: Database) -> None:
        super().__init__(db, CHANNEL)
