"""Live fan-out across API replicas through Postgres LISTEN/NOTIFY: one hub for every service.

Every replica holds one LISTEN connection per channel (:class:`Listener`). A message is a JSON
object. Sent inside a business transaction (:func:`notify`) it is delivered only when that
transaction commits (nothing is pushed that was not stored); sent on its own (:func:`publish`), at
once.

A NOTIFY payload is limited to 8000 bytes. A message that does not fit is cut into numbered
chunks sent in the same transaction (Postgres delivers a transaction's notifications at its
commit, all or none, in order) and put back together by every listener (:class:`Reassembler`).
Messages are ASCII-only JSON, so a chunk boundary never splits a character.

If the LISTEN connection drops (database restart, the backend terminated), the listener reconnects
with backoff (0.2 s doubling to 5 s) and reports the gap (``on_gap``): messages sent meanwhile are
lost to this replica, so its subscribers catch up from the database.

:class:`TopicHub` is the WebSocket side: subscribers follow topics, each with a bounded queue; a
gap or a subscriber that cannot keep up gets :data:`RESYNC` instead of the events it missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import structlog
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aintech_shared.aio import sleep_or_stop, wait_first
from aintech_shared.db import Database

log = structlog.get_logger("aintech.live")

MAX_PAYLOAD = 7900  # bytes; Postgres refuses 8000 and more
CHUNK_CHARS = 7800  # of the message, after the chunk header (#<id>:<index>:<count>:)
MAX_PARTIAL = 64  # messages being reassembled at once; the oldest incomplete one is dropped
MAX_CHUNKS = 128  # a message of 1 MB at most
BACKOFF_FIRST, BACKOFF_MAX = 0.2, 5.0
QUEUE_SIZE = 1000

Message = dict[str, Any]
RESYNC: Message = {"type": "resync"}

_NOTIFY_ALL = text(
    "SELECT pg_notify(:channel, frame) FROM unnest(CAST(:frames AS text[])) WITH ORDINALITY AS t(frame, n)"
    " ORDER BY n"
)


def _json_default(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)  # UUID, Decimal


def frames(message: Message) -> list[str]:
    """The NOTIFY payloads carrying ``message``: itself, or numbered chunks when too large."""
    body = json.dumps(message, separators=(",", ":"), ensure_ascii=True, default=_json_default)
    if len(body) <= MAX_PAYLOAD:
        return [body]
    key = uuid.uuid4().hex
    pieces = [body[i : i + CHUNK_CHARS] for i in range(0, len(body), CHUNK_CHARS)]
    if len(pieces) > MAX_CHUNKS:
        raise ValueError(f"live message of {len(body)} bytes is larger than {MAX_CHUNKS} chunks")
    return [f"#{key}:{n}:{len(pieces)}:{piece}" for n, piece in enumerate(pieces)]


async def notify(session: AsyncSession, channel: str, message: Message) -> None:
    """Stage ``message`` in the session's transaction: every replica gets it when it commits."""
    payloads = frames(message)
    if len(payloads) == 1:
        await session.execute(select(func.pg_notify(channel, payloads[0])))
    else:
        await session.execute(_NOTIFY_ALL, {"channel": channel, "frames": payloads})


async def publish(db: Database, channel: str, message: Message) -> None:
    """Send ``message`` to every replica at once (its own short transaction)."""
    payloads = frames(message)
    async with db.engine.connect() as conn:
        if len(payloads) == 1:
            await conn.execute(select(func.pg_notify(channel, payloads[0])))
        else:
            await conn.execute(_NOTIFY_ALL, {"channel": channel, "frames": payloads})
        await conn.commit()


class Reassembler:
    """Puts chunked messages back together (tolerates chunks in any order)."""

    def __init__(self) -> None:
        self._partial: OrderedDict[str, dict[int, str]] = OrderedDict()

    def feed(self, payload: str) -> Message | None:
        """The message ``payload`` completes, or None (a chunk of one still incomplete, or garbage)."""
        if not payload.startswith("#"):
            return _decode(payload)
        try:
            key, index, count, piece = payload[1:].split(":", 3)
            n, total = int(index), int(count)
        except ValueError:
            log.warning("live_chunk_malformed", size=len(payload))
            return None
        if not 0 <= n < total <= MAX_CHUNKS:
            return None
        parts = self._partial.setdefault(key, {})
        parts[n] = piece
        if len(parts) < total:
            while len(self._partial) > MAX_PARTIAL:
                self._partial.popitem(last=False)
            return None
        del self._partial[key]
        return _decode("".join(parts[i] for i in range(total)))

    def clear(self) -> None:
        self._partial.clear()


def _decode(body: str) -> Message | None:
    try:
        message = json.loads(body)
    except ValueError:
        log.warning("live_payload_malformed", size=len(body))
        return None
    return message if isinstance(message, dict) else None


class Listener:
    """This replica's LISTEN connection on ``channel``: hands every message to ``on_message``.

    Reconnects with backoff when the connection drops, then calls ``on_gap``. ``listening`` is set
    while the LISTEN is in place; ``backend_pid`` is the Postgres backend holding it.
    """

    def __init__(
        self, db: Database, channel: str, on_message: Callable[[Message], None], on_gap: Callable[[], None]
    ) -> None:
        self.db = db
        self.channel = channel
        self.on_message = on_message
        self.on_gap = on_gap
        self.listening = asyncio.Event()
        self.backend_pid: int | None = None
        self.reconnects = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._chunks = Reassembler()

    async def start(self, *, wait: float = 5.0) -> None:
        """Start listening (waits up to ``wait`` seconds for the LISTEN to be in place)."""
        self._task = asyncio.create_task(self._run(), name=f"live-listener:{self.channel}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.listening.wait(), timeout=wait)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        message = self._chunks.feed(payload)
        if message is None:
            return
        try:
            self.on_message(message)
        except Exception:  # one bad message must not stop the listener
            log.exception("live_message_failed", channel=self.channel)

    async def _listen(self, conn: AsyncConnection) -> None:
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        lost = asyncio.Event()

        def on_lost(_conn: Any) -> None:
            lost.set()

        # asyncpg calls this when the connection ends, so nothing polls ``is_closed`` meanwhile.
        driver.add_termination_listener(on_lost)
        try:
            await driver.add_listener(self.channel, self._on_notify)
            self.backend_pid = driver.get_server_pid()
            self.listening.set()
            if not driver.is_closed():
                await wait_first(self._stop, lost)
        finally:
            driver.remove_termination_listener(on_lost)
            if not driver.is_closed():
                await driver.remove_listener(self.channel, self._on_notify)

    async def _run(self) -> None:
        backoff = BACKOFF_FIRST
        while not self._stop.is_set():
            try:
                async with self.db.engine.connect() as conn:
                    await self._listen(conn)
                    backoff = BACKOFF_FIRST
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away: report the gap, then retry
                log.warning("live_listen_failed", channel=self.channel, error=repr(exc))
            if self._stop.is_set():
                return
            if self.listening.is_set():
                self.listening.clear()
                self._chunks.clear()
                self.reconnects += 1
                self.on_gap()
            await sleep_or_stop(self._stop, backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)


class Subscription:
    """One subscriber's (a WebSocket's) queue of events for the topics it follows."""

    def __init__(self, hub: TopicHub, topics: set[str]) -> None:
        self.hub = hub
        self.topics = topics
        self.queue: asyncio.Queue[Message] = asyncio.Queue(QUEUE_SIZE)
        self.overflowed = False

    def offer(self, event: Message) -> None:
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

    async def get(self) -> Message:
        event = await self.queue.get()
        if event is RESYNC:
            self.overflowed = False
        return event

    def close(self) -> None:
        self.hub.unsubscribe(self)


class TopicHub:
    """Topic fan-out over one channel: a message ``{"t": topic, "e": event}`` reaches every
    subscriber of ``topic`` on every replica; a gap sends :data:`RESYNC` to every subscriber."""

    def __init__(self, db: Database, channel: str) -> None:
        self.db = db
        self.channel = channel
        self._subs: dict[str, set[Subscription]] = {}
        self.listener = Listener(db, channel, self._on_message, self._on_gap)

    @property
    def listening(self) -> asyncio.Event:
        return self.listener.listening

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
        await self.listener.start()

    async def stop(self) -> None:
        await self.listener.stop()

    async def notify(self, session: AsyncSession, topic: str, event: Message) -> None:
        """Stage ``event`` for ``topic`` in the session's transaction."""
        await notify(session, self.channel, {"t": topic, "e": event})

    async def publish_now(self, topic: str, event: Message) -> None:
        """Send an ephemeral event (typing indicator) at once, outside any business transaction."""
        await publish(self.db, self.channel, {"t": topic, "e": event})

    def _on_message(self, message: Message) -> None:
        topic, event = message.get("t"), message.get("e")
        if not isinstance(topic, str) or not isinstance(event, dict):
            log.warning("live_message_malformed", channel=self.channel)
            return
        for sub in list(self._subs.get(topic, ())):
            sub.offer(event)

    def _on_gap(self) -> None:
        for subs in list(self._subs.values()):
            for sub in list(subs):
                sub.offer(RESYNC)
