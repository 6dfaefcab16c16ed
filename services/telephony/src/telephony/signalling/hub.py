"""Signalling rooms, one per call, spanning every API replica.

Each replica holds the WebSockets connected to it. Who is in which room is a table
(``signalling_presence``), and every join, leave, relayed message and call end reaches the other
replicas through Postgres LISTEN/NOTIFY (:mod:`telephony.core.live`), so the two parties of a call
may be connected to different replicas. A message goes to the parties in the room when it is sent.

Every WebSocket has one writer task draining a bounded queue of frames: the listener never waits
on a slow socket, and each socket gets its frames in the order they were queued. Close codes:
4409 replaced by a newer connection of the same user (on any replica), 4410 the call ended, 4408 a
client too slow to read its frames, 1012 this replica lost its LISTEN connection (messages may
have been missed: reconnect and negotiate again).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from aintech_shared.db import Database
from aintech_shared.live import Listener, Message
from telephony.core import live
from telephony.core.base import utcnow
from telephony.settings import Settings
from telephony.signalling import repository

log = structlog.get_logger("telephony.signalling")

QUEUE_LIMIT = 1000  # frames waiting for one socket before it is closed as too slow
WRITER_GRACE = 5.0  # seconds a closing socket's writer may take to send its close frame

Frame = dict[str, Any]


@dataclass(frozen=True)
class _Close:
    code: int
    reason: str


class Connection:
    """One party's WebSocket in a room on this replica: its frames, and the peers it knows of."""

    def __init__(self, ws: WebSocket, call_id: uuid.UUID, user_id: str) -> None:
        self.id = uuid.uuid4().hex
        self.ws = ws
        self.call_id = call_id
        self.user_id = user_id
        self.peers: set[str] = set()
        self._departed: set[str] = set()  # left while this connection was still joining
        self._frames: deque[Frame] = deque()
        self._wake = asyncio.Event()
        self._closing: _Close | None = None
        self._writer: asyncio.Task[None] | None = None

    @property
    def closing(self) -> bool:
        return self._closing is not None

    def send(self, frame: Frame) -> None:
        """Queue ``frame`` for the socket (a client that stops reading is closed 4408)."""
        if self._closing is not None:
            return
        if len(self._frames) >= QUEUE_LIMIT:
            log.warning("signalling_client_too_slow", call_id=str(self.call_id), user_id=self.user_id)
            self.close(4408, "too slow to read signalling messages")
            return
        self._frames.append(frame)
        self._wake.set()

    def peer_joined(self, user_id: str) -> None:
        self._departed.discard(user_id)
        if user_id != self.user_id and user_id not in self.peers:
            self.peers.add(user_id)
            self.send({"type": "peer-joined", "user_id": user_id})

    def peer_left(self, user_id: str) -> None:
        if self._writer is None:
            self._departed.add(user_id)
        if user_id in self.peers:
            self.peers.discard(user_id)
            self.send({"type": "peer-left", "user_id": user_id})

    def welcome(self, known: Iterable[str]) -> list[str]:
        """Put the ``joined`` frame first (before what arrived while joining); returns the peers."""
        present = [user for user in known if user not in self._departed and user != self.user_id]
        self._departed.clear()
        self.peers.update(present)
        ordered = list(dict.fromkeys([*present, *sorted(self.peers)]))
        announced = set(ordered)
        self._frames = deque(
            f for f in self._frames if not (f.get("type") == "peer-joined" and f.get("user_id") in announced)
        )
        self._frames.appendleft(
            {"type": "joined", "call_id": str(self.call_id), "user_id": self.user_id, "peers": ordered}
        )
        self._wake.set()
        return ordered

    def close(self, code: int, reason: str) -> None:
        """Close the socket once (frames not yet sent are dropped)."""
        if self._closing is None:
            self._closing = _Close(code, reason)
            self._frames.clear()
            self._wake.set()

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write(), name=f"signalling-writer-{self.id}")

    async def finish(self) -> None:
        """The handler is done: let the writer send a pending close frame, then stop it."""
        if self._writer is None:
            return
        if self._closing is None:
            self._closing = _Close(1000, "")
            self._frames.clear()
        self._wake.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._writer, WRITER_GRACE)

    async def _write(self) -> None:
        while True:
            if self._frames:
                frame = self._frames.popleft()
                try:
                    await self.ws.send_json(frame)
                except (WebSocketDisconnect, RuntimeError, OSError) as exc:  # the client went away meanwhile
                    log.info("signalling_send_failed", call_id=str(self.call_id), error=repr(exc))
                    return
            elif self._closing is not None:
                await _close(self.ws, self._closing.code, self._closing.reason)
                return
            else:
                self._wake.clear()
                await self._wake.wait()


def presence_ttl(settings: Settings) -> float:
    """Seconds after which a presence row nobody refreshed no longer counts (its replica is gone)."""
    return 3 * settings.signalling_recheck_seconds + 5


class SignallingHub:
    """This replica's rooms, kept in step with the other replicas' through LISTEN/NOTIFY."""

    def __init__(self, db: Database, *, presence_ttl: float) -> None:
        self.db = db
        self.replica = uuid.uuid4().hex[:16]
        self.presence_ttl = timedelta(seconds=presence_ttl)
        self.rooms: dict[uuid.UUID, dict[str, Connection]] = {}
        self.connections = 0  # joined and not yet left
        self.listener = Listener(db, live.CHANNEL, self._on_message, self._on_gap)

    @property
    def listening(self) -> bool:
        """Whether this replica hears the others (its LISTEN connection is up)."""
        return self.listener.listening.is_set()

    async def start(self) -> None:
        await self.listener.start()

    async def stop(self) -> None:
        await self.listener.stop()
        for room in list(self.rooms.values()):
            for conn in list(room.values()):
                conn.close(1012, "the service is restarting")

    async def join(self, call_id: uuid.UUID, user_id: str, ws: WebSocket) -> Connection:
        """Enter the room (replacing an older connection of the same user on any replica)."""
        conn = Connection(ws, call_id, user_id)
        room = self.rooms.setdefault(call_id, {})
        previous = room.get(user_id)
        room[user_id] = conn  # from now on, what other replicas send reaches this connection
        if previous is not None:
            previous.close(4409, "replaced by a newer connection")
        try:
            async with self.db.transaction() as session:
                others = await repository.enter(
                    session,
                    call_id=call_id,
                    user_id=uuid.UUID(user_id),
                    connection_id=conn.id,
                    replica=self.replica,
                    fresh_after=utcnow() - self.presence_ttl,
                )
                await live.notify(session, self._message("join", conn))
        except BaseException:
            self._forget(conn)
            raise
        self.connections += 1
        conn.welcome(str(other) for other in others)
        for other in list(room.values()):
            if other is not conn:
                other.peer_joined(user_id)
        conn.start()
        return conn

    async def leave(self, conn: Connection) -> None:
        """Leave the room; the others hear ``peer-left`` unless a newer connection replaced this one."""
        self._forget(conn)
        try:
            await self._leave(conn)
        finally:
            self.connections -= 1

    async def _leave(self, conn: Connection) -> None:
        try:
            async with self.db.transaction() as session:
                gone = await repository.leave(
                    session, call_id=conn.call_id, user_id=uuid.UUID(conn.user_id), connection_id=conn.id
                )
                if gone:
                    await live.notify(session, self._message("leave", conn))
        except Exception as exc:  # the database is away: the row expires, peers learn on their next join
            log.warning("signalling_leave_failed", call_id=str(conn.call_id), error=repr(exc))
            return
        if gone:
            for other in list(self.rooms.get(conn.call_id, {}).values()):
                other.peer_left(conn.user_id)

    async def touch(self, conn: Connection) -> None:
        """The connection is still open (its presence row stays fresh)."""
        async with self.db.transaction() as session:
            await repository.touch(
                session, call_id=conn.call_id, user_id=uuid.UUID(conn.user_id), connection_id=conn.id
            )

    async def relay(self, conn: Connection, kind: str, payload: dict[str, Any], to: str | None) -> None:
        """Send a signalling message to every other party of the room (or only ``to``)."""
        frame = {"type": kind, "from": conn.user_id, "payload": payload}
        room = self.rooms.get(conn.call_id, {})
        for user, other in list(room.items()):
            if other is not conn and user != conn.user_id and to in (None, user):
                other.send(frame)
        elsewhere = ({to} if to is not None else conn.peers) - room.keys()
        if elsewhere:
            message = self._message("relay", conn)
            message.update(t=to, m=frame)
            await live.publish(self.db, message)

    def close_room(self, call_id: uuid.UUID, code: int, reason: str) -> None:
        """Close this replica's connections of a call."""
        for conn in list(self.rooms.get(call_id, {}).values()):
            conn.close(code, reason)

    def _message(self, kind: str, conn: Connection) -> Message:
        return {"k": kind, "c": str(conn.call_id), "u": conn.user_id, "x": conn.id, "o": self.replica}

    def _forget(self, conn: Connection) -> None:
        room = self.rooms.get(conn.call_id)
        if room is not None and room.get(conn.user_id) is conn:
            del room[conn.user_id]
            if not room:
                del self.rooms[conn.call_id]

    def _on_message(self, message: Message) -> None:
        """A message from the channel (other replicas', and call ends from any transaction)."""
        if message.get("o") == self.replica:
            return  # our own: delivered locally already
        try:
            call_id = uuid.UUID(str(message.get("c")))
        except ValueError:
            return
        room = self.rooms.get(call_id)
        if not room:
            return
        kind, user = message.get("k"), str(message.get("u"))
        if kind == "end":
            self.close_room(call_id, 4410, "the call has ended")
        elif kind == "join":
            existing = room.get(user)
            if existing is not None and existing.id != message.get("x"):
                existing.close(4409, "replaced by a newer connection")
                self._forget(existing)
            for other in list(room.values()):
                other.peer_joined(user)
        elif kind == "leave":
            for other in list(room.values()):
                other.peer_left(user)
        elif kind == "relay" and isinstance(message.get("m"), dict):
            to = message.get("t")
            for target, other in list(room.items()):
                if target != user and to in (None, target):
                    other.send(message["m"])

    def _on_gap(self) -> None:
        """The LISTEN connection dropped: messages may have been missed, so every party reconnects."""
        for room in list(self.rooms.values()):
            for conn in list(room.values()):
                conn.close(1012, "signalling was interrupted; reconnect")


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    if ws.application_state == WebSocketState.CONNECTED and ws.client_state == WebSocketState.CONNECTED:
        try:
            await ws.close(code=code, reason=reason)
        except (RuntimeError, OSError):
            pass
