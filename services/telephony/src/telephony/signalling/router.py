"""WebRTC signalling: /ws/calls/{call_id}, an authenticated room relaying offer/answer/ICE.

Protocol (JSON text frames): the client sends ``{"type": "offer"|"answer"|"ice"|"bye",
"payload": {...}, "to": "<user id>"?}``; every other party (or only ``to``) receives
``{"type", "from", "payload"}``. The server sends ``joined`` (with the peers already there),
``peer-joined``, ``peer-left`` and ``error``. A refused upgrade is answered at the handshake with a
problem+json 401 (no or bad token), 403 (not a party), 404 (no such call) or 410 (call ended); an
open room closes with 4410 (the call ended), 4409 (replaced by a newer connection of the same user),
4413 (message too large), 4429 (too many messages), 4400 (too many invalid messages), 4408 (a client
too slow to read), 1012 (the replica lost its database channel: reconnect) or 1011 (signalling
unavailable). The parties may be connected to different replicas (see ``hub``).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from aintech_shared.auth import Principal, TokenVerifier
from aintech_shared.db import Database
from aintech_shared.errors import AppError, problem
from telephony.signalling import service
from telephony.signalling.hub import Connection, SignallingHub

log = structlog.get_logger("telephony.signalling")

router = APIRouter()

RATE_MESSAGES = 200  # per RATE_WINDOW seconds and connection (ICE candidates come in bursts)
RATE_WINDOW = 10.0
MAX_ERRORS = 20


def _token(ws: WebSocket) -> str | None:
    header = ws.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    for protocol in ws.headers.get("sec-websocket-protocol", "").split(","):
        protocol = protocol.strip()
        if protocol.startswith("bearer."):
            return protocol.removeprefix("bearer.")
    return ws.query_params.get("access_token") or None


def _subprotocol(ws: WebSocket) -> str | None:
    offered = [p.strip() for p in ws.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
    return "aintech.signalling" if "aintech.signalling" in offered else None


async def _authenticate(ws: WebSocket) -> Principal:
    token = _token(ws)
    if token is None:
        raise service.Refused(4401, "missing access token")
    verifier: TokenVerifier = ws.app.state.token_verifier
    try:
        return await verifier.verify(token)
    except AppError as exc:
        raise service.Refused(4401, exc.detail[:120]) from exc


@router.websocket("/ws/calls/{call_id}")
async def call_room(ws: WebSocket, call_id: uuid.UUID) -> None:
    hub: SignallingHub = ws.app.state.signalling
    db: Database = ws.app.state.db
    try:
        principal = await _authenticate(ws)
        async with db.sessionmaker() as session:
            await service.admit(session, principal=principal, call_id=call_id)
    except service.Refused as refused:
        log.info("signalling_refused", call_id=str(call_id), status=refused.status, reason=refused.reason)
        if "websocket.http.response" in ws.scope.get("extensions", {}):
            await ws.send_denial_response(
                problem(refused.status, detail=f"Signalling refused: {refused.reason}.", instance=ws.url.path)
            )
        else:
            await ws.close(code=refused.code, reason=refused.reason)
        return
    await ws.accept(subprotocol=_subprotocol(ws))
    try:
        conn = await hub.join(call_id, principal.user_id, ws)
    except Exception as exc:  # the database went away between the handshake and the join
        log.warning("signalling_join_failed", call_id=str(call_id), error=repr(exc))
        await ws.close(code=1011, reason="signalling is unavailable; retry")
        return
    watcher = asyncio.create_task(_watch(hub, conn, db))
    try:
        await _receive(hub, conn)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await hub.leave(conn)
        await conn.finish()


async def _receive(hub: SignallingHub, conn: Connection) -> None:
    """Read the client's frames and relay the valid ones until either side closes."""
    window_start, count, errors = time.monotonic(), 0, 0
    while not conn.closing:
        try:
            frame = await conn.ws.receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if frame["type"] == "websocket.disconnect":
            return
        text = frame.get("text")
        if text is None:
            conn.send({"type": "error", "detail": "send JSON text frames"})
            continue
        if len(text.encode()) > service.MAX_MESSAGE_BYTES:
            conn.close(4413, "message too large")
            return
        now = time.monotonic()
        if now - window_start > RATE_WINDOW:
            window_start, count = now, 0
        count += 1
        if count > RATE_MESSAGES:
            conn.close(4429, "too many messages")
            return
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        checked = service.relayable(message, peers=conn.peers)
        if isinstance(checked, str):
            errors += 1
            conn.send({"type": "error", "detail": checked})
            if errors >= MAX_ERRORS:
                conn.close(4400, "too many invalid messages")
                return
            continue
        kind, payload, to = checked
        try:
            await hub.relay(conn, kind, payload, to)
        except Exception as exc:  # the database carries messages between replicas
            log.warning("signalling_relay_failed", call_id=str(conn.call_id), error=repr(exc))
            conn.send({"type": "error", "detail": "the message could not be relayed; send it again"})


async def _watch(hub: SignallingHub, conn: Connection, db: Database) -> None:
    """Every few seconds: close the connection (4410) once the call has ended, else keep its
    presence fresh. (A call's end also closes its rooms at once through the hub.)"""
    every = conn.ws.app.state.runtime.settings.signalling_recheck_seconds
    while True:
        await asyncio.sleep(every)
        try:
            async with db.sessionmaker() as session:
                live = await service.still_live(session, call_id=conn.call_id)
            if live:
                await hub.touch(conn)
        except Exception as exc:  # the database is away: keep the room, try again later
            log.warning("signalling_recheck_failed", call_id=str(conn.call_id), error=repr(exc))
            continue
        if not live:
            conn.close(4410, "the call has ended")
            return
