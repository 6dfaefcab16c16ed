"""The live hub on a real Postgres: two replicas' listeners, a message past NOTIFY's 8 kB, and a
listening connection killed by the server (pg_terminate_backend) that comes back by itself."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from aintech_shared import live
from aintech_shared.db import Database
from aintech_shared.live import MAX_PAYLOAD, RESYNC, Listener, Message, TopicHub


@pytest.fixture
async def db(admin_database_url: str) -> AsyncIterator[Database]:
    url = make_url(admin_database_url).set(drivername="postgresql+asyncpg")
    database = Database(url.render_as_string(hide_password=False), schema="public", pool_size=2)
    yield database
    await database.dispose()


class Inbox:
    """What one replica's listener received, awaitable."""

    def __init__(self) -> None:
        self.messages: asyncio.Queue[Message] = asyncio.Queue()
        self.gaps = 0

    def on_message(self, message: Message) -> None:
        self.messages.put_nowait(message)

    def on_gap(self) -> None:
        self.gaps += 1

    async def next(self) -> Message:
        return await asyncio.wait_for(self.messages.get(), timeout=30)


async def test_a_message_past_notifys_limit_reaches_every_replica_whole_and_only_on_commit(
    db: Database,
) -> None:
    channel = f"live_test_{uuid.uuid4().hex[:8]}"
    one, two = Inbox(), Inbox()
    listeners = [Listener(db, channel, inbox.on_message, inbox.on_gap) for inbox in (one, two)]
    for listener in listeners:
        await listener.start()
        assert listener.listening.is_set()
    try:
        offer = {"k": "relay", "sdp": "v=0 " + "a=candidate:ñ " * 3000, "n": 1}  # ~45 kB, not ASCII
        assert len(str(offer).encode()) > 5 * MAX_PAYLOAD
        async with db.transaction() as session:  # rolled back: nothing is delivered
            await live.notify(session, channel, {"k": "never"})
            await session.rollback()
        async with db.transaction() as session:
            await live.notify(session, channel, offer)
            await live.notify(session, channel, {"k": "after", "n": 2})
        for inbox in (one, two):
            assert await inbox.next() == offer
            assert await inbox.next() == {"k": "after", "n": 2}, "in commit order, the rolled-back one never"
        await live.publish(db, channel, {"k": "now"})
        assert await one.next() == {"k": "now"} and await two.next() == {"k": "now"}
    finally:
        for listener in listeners:
            await listener.stop()


async def test_a_killed_listening_connection_is_reopened_and_the_gap_reported(db: Database) -> None:
    channel = f"live_test_{uuid.uuid4().hex[:8]}"
    hub = TopicHub(db, channel)
    await hub.start()
    try:
        room = hub.subscribe("chat:1")
        await hub.publish_now("chat:1", {"type": "message", "seq": 1})
        assert await asyncio.wait_for(room.get(), 30) == {"type": "message", "seq": 1}

        killed = hub.listener.backend_pid
        assert killed is not None
        async with db.engine.connect() as admin:
            assert await admin.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": killed})
        assert await asyncio.wait_for(room.get(), 30) is RESYNC, "subscribers are told to catch up"
        await asyncio.wait_for(hub.listening.wait(), 30)
        assert hub.listener.backend_pid not in (None, killed) and hub.listener.reconnects == 1

        big = {"type": "message", "seq": 2, "body": "x" * (3 * MAX_PAYLOAD)}
        async with db.transaction() as session:
            await hub.notify(session, "chat:1", big)
            await hub.notify(session, "chat:2", {"type": "elsewhere"})
        assert await asyncio.wait_for(room.get(), 30) == big
        assert room.queue.empty(), "another topic's event never reaches this room"
    finally:
        await hub.stop()
