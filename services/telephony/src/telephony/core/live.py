"""Messages between API replicas through Postgres LISTEN/NOTIFY (the signalling rooms' backbone).

Every API replica holds one LISTEN connection on :data:`CHANNEL`. A message is a JSON object. A
NOTIFY payload is limited to 8000 bytes, and a WebRTC offer can be larger, so a message that does
not fit is cut into numbered chunks sent in one transaction (Postgres delivers a transaction's
notifications at its commit, all of them or none) and put back together by each listener.
Messages are ASCII-only JSON, so a chunk boundary never splits a character.

Sent inside a business transaction (:func:`notify`), a message is delivered only if that
transaction commits; sent on its own (:func:`publish`), at once. If the LISTEN connection drops,
the listener reports the gap (``on_gap``): messages sent meanwhile are lost to this replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aintech_shared.aio import sleep_or_stop
from aintech_shared.db import Database

log = structlog.get_logger("telephony.live")

CHANNEL = "telephony_signalling"
MAX_PAYLOAD = 7900  # bytes; Postgres refuses 8000 and more
CHUNK_CHARS = 7800  # of the message, after the chunk header (#<id>:<index>:<count>:)
MAX_PARTIAL = 64  # messages being reassembled at once; the oldest incomplete one is dropped
MAX_CHUNKS = 128  # a message of 1 MB at most, far above what the rooms let through

_NOTIFY_ALL = text(
    "SELECT pg_notify(:channel, frame) FROM unnest(CAST(:frames AS text[])) WITH ORDINALITY AS t(frame, n)"
    " ORDER BY n"
)

Message = dict[str, Any]


def call_ended(call_id: object) -> Message:
    """Tells every replica to close a call's signalling room (sent in the transaction ending it)."""
    return {"k": "end", "c": str(call_id)}


def frames(message: Message) -> list[str]:
    """The NOTIFY payloads carrying ``message``: itself, or numbered chunks when too large."""
    body = json.dumps(message, separators=(",", ":"), ensure_ascii=True)
    if len(body) <= MAX_PAYLOAD:
        return [body]
    key = uuid.uuid4().hex
    pieces = [body[i : i + CHUNK_CHARS] for i in range(0, len(body), CHUNK_CHARS)]
    return [f"#{key}:{n}:{len(pieces)}:{piece}" for n, piece in enumerate(pieces)]


async def notify(session: AsyncSession, message: Message) -> None:
    """Stage ``message`` in the session's transaction: every replica gets it when it commits."""
    await session.execute(_NOTIFY_ALL, {"channel": CHANNEL, "frames": frames(message)})


async def publish(db: Database, message: Message) -> None:
    """Send ``message`` to every replica at once (its own short transaction)."""
    payloads = frames(message)
    async with db.engine.connect() as conn:
        if len(payloads) == 1:
            await conn.execute(select(func.pg_notify(CHANNEL, payloads[0])))
        else:
            await conn.execute(_NOTIFY_ALL, {"channel": CHANNEL, "frames": payloads})
        await conn.commit()


class Reassembler:
    """Puts chunked messages back together (the chunks of one message may arrive in any order)."""

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
    """This replica's LISTEN connection: hands every message to ``on_message``, in order.

    Reconnects with backoff when the connection drops, then calls ``on_gap`` (what was sent
    meanwhile is lost to this replica). ``listening`` is set while the LISTEN is in place.
    """

    def __init__(
        self, db: Database, on_message: Callable[[Message], None], on_gap: Callable[[], None]
    ) -> None:
        self.db = db
        self.on_message = on_message
        self.on_gap = on_gap
        self.listening = asyncio.Event()
        self.backend_pid: int | None = None  # the Postgres backend holding the LISTEN
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._chunks = Reassembler()

    async def start(self, *, wait: float = 5.0) -> None:
        """Start listening (waits up to ``wait`` seconds for the LISTEN to be in place)."""
        self._task = asyncio.create_task(self._run(), name="telephony-live-listener")
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
            log.exception("live_message_failed", kind=str(message.get("k"))[:20])

    async def _listen(self, conn: AsyncConnection) -> None:
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.add_listener(CHANNEL, self._on_notify)
        self.backend_pid = driver.get_server_pid()
        self.listening.set()
        try:
            while not self._stop.is_set() and not driver.is_closed():
                await sleep_or_stop(self._stop, 1.0)
        finally:
            if not driver.is_closed():
                await driver.remove_listener(CHANNEL, self._on_notify)

    async def _run(self) -> None:
        backoff = 0.2
        while not self._stop.is_set():
            try:
                async with self.db.engine.connect() as conn:
                    await self._listen(conn)
                    backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away; the rooms are told, then we retry
                log.warning("live_listen_failed", error=repr(exc))
            if self._stop.is_set():
                return
            if self.listening.is_set():
                self.listening.clear()
                self._chunks.clear()
                self.on_gap()
            await sleep_or_stop(self._stop, backoff)
            backoff = min(backoff * 2, 5.0)
