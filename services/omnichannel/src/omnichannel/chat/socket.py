"""The chat room's socket protocol (``/ws/chat/{conversation_id}``): ``hello``, the backlog after
the client's last ``seq`` and then live frames in order (a gap is filled from the database),
``typing`` throttled to one a second, ``message`` frames stored and answered with ``ack`` or
``error``. See docs/omnichannel.md."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import WebSocket
from pydantic import ValidationError

from aintech_shared.auth import Principal
from aintech_shared.db import Database
from aintech_shared.errors import AppError
from omnichannel.chat import service
from omnichannel.chat.schemas import ChatMessageIn
from omnichannel.conversations import service as conversations
from omnichannel.core import sockets
from omnichannel.core.live import LiveHub, chat_topic
from omnichannel.messaging import store as message_store
from omnichannel.settings import Settings

BACKLOG_PAGE = 500
TYPING_EVERY = 1.0


async def serve(
    websocket: WebSocket,
    *,
    principal: Principal,
    subprotocol: str | None,
    conversation_id: uuid.UUID,
    after: int,
) -> None:
    """Join an authenticated caller to the room and serve it until the socket closes."""
    db: Database = websocket.app.state.db
    hub: LiveHub = websocket.app.state.hub
    settings: Settings = websocket.app.state.settings
    try:
        async with db.transaction() as session:
            conversation = await conversations.get_for(
                session, principal=principal, conversation_id=conversation_id
            )
            if conversation.channel != "chat":
                raise AppError("not a chat")
            await service.join(session, principal=principal, conversation=conversation)
            hello = conversations.summary(conversation)
    except AppError:
        await websocket.close(code=sockets.CLOSE_NOT_FOUND, reason="no such chat")
        return
    subscription = hub.subscribe(chat_topic(conversation_id))
    await websocket.accept(subprotocol=subprotocol)
    last = max(0, after)
    await sockets.send_json(websocket, {"type": "hello", "conversation": hello, "resume_from": last})

    async def catch_up() -> None:
        nonlocal last
        while True:
            async with db.transaction() as session:
                conv = await conversations.get(session, conversation_id=conversation_id)
                assert conv is not None
                rows = await message_store.in_conversation(
                    session, conversation=conv, after=last, limit=BACKLOG_PAGE
                )
                payloads = [(m.seq, m.kind, message_store.message_out(m)) for m in rows]
            for seq, kind, payload in payloads:
                await sockets.send_json(websocket, {"type": kind, "seq": seq, "message": payload})
                last = seq
            if len(payloads) < BACKLOG_PAGE:
                return

    await catch_up()

    async def on_event(event: dict[str, Any]) -> None:
        seq = event.get("seq")
        if event.get("type") == "resync":
            await catch_up()
            return
        if isinstance(seq, int):
            if seq <= last:
                return  # already sent from the backlog
            if seq > last + 1:
                await catch_up()  # a gap: fill it from the database, in order
                return
            _advance(seq)
        await sockets.send_json(websocket, event)

    def _advance(seq: int) -> None:
        nonlocal last
        last = seq

    typing_state: dict[str, Any] = {"at": 0.0, "typing": None}

    async def on_client(frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "typing":
            typing = bool(frame.get("typing", True))
            now = time.monotonic()
            if typing == typing_state["typing"] and now - typing_state["at"] < TYPING_EVERY:
                return  # repeated keystrokes: at most one indicator a second reaches the room
            typing_state.update(at=now, typing=typing)
            await hub.publish_now(
                chat_topic(conversation_id),
                {
                    "type": "typing",
                    "sender_type": "agent" if principal.is_staff else "customer",
                    "user_id": principal.user_id,
                    "typing": typing,
                },
            )
            return
        if kind != "message":
            await sockets.send_json(
                websocket, {"type": "error", "code": "unknown_type", "detail": f"Unknown type {kind!r}."}
            )
            return
        try:
            body = ChatMessageIn.model_validate(
                {"body": frame.get("body"), "client_id": frame.get("client_id")}
            )
        except ValidationError as exc:
            await sockets.send_json(
                websocket,
                {
                    "type": "error",
                    "code": "invalid",
                    "client_id": frame.get("client_id"),
                    "detail": exc.errors()[0]["msg"],
                },
            )
            return
        try:
            async with db.transaction() as session:
                conv = await conversations.get_for(
                    session, principal=principal, conversation_id=conversation_id, for_update=True
                )
                message, _ = await service.post(
                    session,
                    principal=principal,
                    conversation=conv,
                    body=body.body,
                    client_id=body.client_id,
                    limit_per_minute=settings.chat_limit_per_user_per_minute,
                )
                ack = {
                    "type": "ack",
                    "client_id": body.client_id,
                    "seq": message.seq,
                    "message_id": str(message.id),
                }
        except AppError as exc:
            await sockets.send_json(
                websocket,
                {"type": "error", "code": exc.slug, "client_id": body.client_id, "detail": exc.detail},
            )
            return
        await sockets.send_json(websocket, ack)

    await sockets.serve(
        websocket,
        subscription=subscription,
        on_client=on_client,
        on_event=on_event,
        heartbeat=settings.chat_heartbeat_seconds,
    )
