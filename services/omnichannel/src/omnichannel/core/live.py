"""Live events across replicas through Postgres LISTEN/NOTIFY.

A publisher calls :func:`notify` inside its business transaction: Postgres delivers the
notification only at commit, so nothing is pushed that was not stored. Every API replica holds
one LISTEN connection (:class:`LiveHub`) and hands each event to the WebSockets subscribed to its
topic on that replica. A payload too large for NOTIFY (8000 bytes) travels as a reference that
the hub resolves from the database. If the LISTEN connection drops, every subscriber gets a
``resync`` event and catches up from the database (chat resumes from its last sequence number).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.aio import sleep_or_stop
from aintech_shared.db import Database

log = structlog.get_logger("omnichannel.live")

CHANNEL = "omnichannel_live"
MAX_PAYLOAD = 7800
QUEUE_SIZE = 1000
RESYNC: dict[str, Any] = {"type": "resync"}

Resolver = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]


def chat_topic(conversation_id: object) -> str:
    return f"chat:{conversation_id}"


def user_topic(user_id: object) -> str:
    return f"user:{user_id}"


INBOX_TOPIC = "inbox"


def encode(topic: str, event: dict[str, Any], ref: dict[str, Any] | None = None) -> str:
    """The NOTIFY payload: the event itself, or ``ref`` when the event is too large."""
    payload = orjson.dumps({"t": topic, "e": event}).decode()
    if len(payload.encode()) <= MAX_PAYLOAD:
        return payload
    if ref is None:
        raise ValueError(f"live event for {topic} too large and without a reference")
    return orjson.dumps({"t": topic, "ref": ref}).decode()


async def notify(
    session: AsyncSession, topic: str, event: dict[str, Any], *, ref: dict[str, Any] | None = None
) -> None:
    """Stage a live event; it is delivered to every replica when the transaction commits."""
    await session.execute(select(func.pg_notify(CHANNEL, encode(topic, event, ref))))


class Subscription:
    """One WebSocket's queue of events for the topics it follows."""

    def __init__(self, hub: LiveHub, topics: set[str]) -> None:
        self.hub = hub
        self.topics = topics
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self.overflowed = False

    def offer(self, event: dict[str, Any]) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            # A client that cannot keep up catches up from the database instead.
            self.overflowed = True
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.queue.put_nowait(RESYNC)

    async def get(self) -> dict[str, Any]:
        event = await self.queue.get()
        if event is RESYNC:
            self.overflowed = False
        return event

    def close(self) -> None:
        self.hub.unsubscribe(self)


class LiveHub:
    """This replica's LISTEN connection and the subscriptions of its WebSockets."""

    def __init__(self, db: Database, resolver: Resolver | None = None) -> None:
        self.db = db
        self.resolver = resolver
        self._subs: dict[str, set[Subscription]] = {}
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    def subscribe(self, *topics: str) -> Subscription:
        sub = Subscription(self, set(topics))
        for topic in topics:
            self._subs.setdefault(topic, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        for topic in sub.topics:
            subs = self._subs.get(topic)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[topic]

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subs.values())

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="live-hub")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.listening.wait(), timeout=5)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def publish_now(self, topic: str, event: dict[str, Any]) -> None:
        """Send an ephemeral event (typing indicator) at once, outside any business transaction."""
        async with self.db.engine.connect() as conn:
            await conn.execute(select(func.pg_notify(CHANNEL, encode(topic, event))))
            await conn.commit()

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            message = orjson.loads(payload)
            topic = message["t"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            log.warning("live_payload_malformed", size=len(payload))
            return
        subs = self._subs.get(topic)
        if not subs:
            return
        if "ref" in message:
            asyncio.get_running_loop().create_task(self._resolve_and_fan_out(topic, message["ref"]))
            return
        for sub in list(subs):
            sub.offer(message["e"])

    async def _resolve_and_fan_out(self, topic: str, ref: dict[str, Any]) -> None:
        event = await self.resolver(ref) if self.resolver else None
        if event is None:
            return
        for sub in list(self._subs.get(topic, ())):
            sub.offer(event)

    async def _run(self) -> None:
        backoff = 0.2
        while not self._stop.is_set():
            try:
                async with self.db.engine.connect() as conn:
                    raw = await conn.get_raw_connection()
                    driver: Any = raw.driver_connection
                    await driver.add_listener(CHANNEL, self._on_notify)
                    self.listening.set()
                    backoff = 0.2
                    try:
                        while not self._stop.is_set() and not driver.is_closed():
                            await sleep_or_stop(self._stop, 2.0)
                    finally:
                        if not driver.is_closed():
                            await driver.remove_listener(CHANNEL, self._on_notify)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away: subscribers catch up when it is back
                log.warning("live_listen_failed", error=repr(exc))
            if self._stop.is_set():
                return
            self.listening.clear()
            for subs in list(self._subs.values()):
                for sub in list(subs):
                    sub.offer(RESYNC)
            await sleep_or_stop(self._stop, backoff)
            backoff = min(backoff * 2, 5.0)
