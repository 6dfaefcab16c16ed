"""WebSocket plumbing shared by chat, the inbox and notifications: auth, heartbeat, fan-in."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from aintech_shared.auth import Principal, TokenVerifier
from aintech_shared.errors import AppError
from omnichannel.core.live import RESYNC, Subscription

log = structlog.get_logger("omnichannel.sockets")

# Close codes: 1008 policy (bad token), 4403 forbidden, 4404 not found, 1001 idle / going away.
CLOSE_UNAUTHORIZED = 1008
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
MAX_FRAME = 16 * 1024

ClientHandler = Callable[[dict[str, Any]], Awaitable[None]]
EventHandler = Callable[[dict[str, Any]], Awaitable[None]]


def token_of(websocket: WebSocket) -> tuple[str | None, str | None]:
    """The access token (Authorization header from the gateway, ``bearer, <token>`` subprotocol, or
    ``access_token`` query parameter) and the subprotocol to accept."""
    header = websocket.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), None
    offered = websocket.scope.get("subprotocols") or []
    if len(offered) >= 2 and offered[0].lower() == "bearer":
        return offered[1], "bearer"
    return websocket.query_params.get("access_token") or None, None


async def authenticate(websocket: WebSocket) -> tuple[Principal, str | None] | None:
    """The verified caller, or None after refusing the handshake (403 to the client)."""
    token, subprotocol = token_of(websocket)
    if not token:
        await websocket.close(code=CLOSE_UNAUTHORIZED, reason="missing access token")
        return None
    verifier: TokenVerifier = websocket.app.state.token_verifier
    try:
        principal = await verifier.verify(token)
    except AppError as exc:
        await websocket.close(code=CLOSE_UNAUTHORIZED, reason=exc.detail[:120])
        return None
    return principal, subprotocol


async def send_json(websocket: WebSocket, payload: dict[str, Any]) -> None:
    await websocket.send_text(orjson.dumps(payload).decode())


async def serve(
    websocket: WebSocket,
    *,
    subscription: Subscription,
    on_client: ClientHandler,
    on_event: EventHandler,
    heartbeat: float,
) -> None:
    """Relay hub events to the socket and client frames to ``on_client`` until either side ends.

    The server sends ``{"type": "ping"}`` every ``heartbeat`` seconds; a client silent for three
    heartbeats is closed (1001). Clients may send ``{"type": "ping"}`` and get a pong.
    """
    last_heard = time.monotonic()

    async def reader() -> None:
        nonlocal last_heard
        while True:
            try:
                raw = await websocket.receive_text()
            except (WebSocketDisconnect, RuntimeError, KeyError):
                return
            last_heard = time.monotonic()
            if len(raw) > MAX_FRAME:
                await send_json(
                    websocket, {"type": "error", "code": "too_large", "detail": "Frame too large."}
                )
                continue
            try:
                frame = orjson.loads(raw)
            except orjson.JSONDecodeError:
                await send_json(
                    websocket, {"type": "error", "code": "bad_json", "detail": "Frames are JSON objects."}
                )
                continue
            if not isinstance(frame, dict):
                await send_json(
                    websocket, {"type": "error", "code": "bad_frame", "detail": "Frames are JSON objects."}
                )
                continue
            kind = frame.get("type")
            if kind == "ping":
                await send_json(websocket, {"type": "pong"})
            elif kind == "pong":
                continue
            else:
                await on_client(frame)

    async def writer() -> None:
        while True:
            event = await subscription.get()
            await on_event(event if event is not RESYNC else {"type": "resync"})

    async def pinger() -> None:
        while True:
            await asyncio.sleep(heartbeat)
            if time.monotonic() - last_heard > 3 * heartbeat:
                await websocket.close(code=1001, reason="idle")
                return
            await send_json(websocket, {"type": "ping"})

    tasks = [asyncio.create_task(reader()), asyncio.create_task(writer()), asyncio.create_task(pinger())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            exc = task.exception()
            if exc is not None and not isinstance(exc, WebSocketDisconnect | RuntimeError):
                log.warning("socket_task_failed", error=repr(exc))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        subscription.close()
        if websocket.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await websocket.close()
