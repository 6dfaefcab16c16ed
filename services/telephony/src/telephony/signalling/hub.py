"""Rooms of WebSocket connections, one per call, relaying signalling messages between its parties."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import Any

import structlog
from starlette.websockets import WebSocket, WebSocketState

log = structlog.get_logger("telephony.signalling")


class SignallingHub:
    """In-process rooms: a call's parties must reach the same replica (route /ws by call id)."""

    def __init__(self) -> None:
        self.rooms: dict[uuid.UUID, dict[str, WebSocket]] = {}
        self._lock = asyncio.Lock()

    async def join(self, call_id: uuid.UUID, user_id: str, ws: WebSocket) -> list[str]:
        """Enter the room (replacing an older connection of the same user); returns the other peers."""
        async with self._lock:
            room = self.rooms.setdefault(call_id, {})
            previous = room.get(user_id)
            room[user_id] = ws
            peers = [p for p in room if p != user_id]
        if previous is not None and previous is not ws:
            await _close(previous, 4409, "replaced by a newer connection")
        await self.broadcast(call_id, {"type": "peer-joined", "user_id": user_id}, sender=user_id)
        return peers

    async def leave(self, call_id: uuid.UUID, user_id: str, ws: WebSocket) -> None:
        async with self._lock:
            room = self.rooms.get(call_id, {})
            if room.get(user_id) is ws:
                del room[user_id]
            if not room:
                self.rooms.pop(call_id, None)
        await self.broadcast(call_id, {"type": "peer-left", "user_id": user_id}, sender=user_id)

    def peers(self, call_id: uuid.UUID) -> list[str]:
        return list(self.rooms.get(call_id, {}))

    async def broadcast(
        self, call_id: uuid.UUID, message: Mapping[str, Any], *, sender: str, to: str | None = None
    ) -> int:
        """Send ``message`` to every other party (or only ``to``); returns how many got it."""
        targets = [
            ws
            for user, ws in list(self.rooms.get(call_id, {}).items())
            if user != sender and (to is None or user == to)
        ]
        sent = 0
        for ws in targets:
            try:
                await ws.send_json(dict(message))
                sent += 1
            except (RuntimeError, OSError) as exc:  # the peer went away meanwhile
                log.info("signalling_send_failed", call_id=str(call_id), error=repr(exc))
        return sent

    async def close_room(self, call_id: uuid.UUID, reason: str) -> None:
        """End every connection of a call (it ended)."""
        async with self._lock:
            room = self.rooms.pop(call_id, {})
        for ws in room.values():
            await _close(ws, 4410, reason)


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    if ws.application_state == WebSocketState.CONNECTED:
        try:
            await ws.close(code=code, reason=reason)
        except (RuntimeError, OSError):
            pass
