"""Chat over REST and over WebSocket (``/ws/chat/{conversation_id}``), and the customer page."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter, WebSocket, status
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from aintech_shared.db import Database, DbSession
from aintech_shared.errors import AppError, Forbidden, responses
from omnichannel.chat import service, widget
from omnichannel.chat.schemas import ChatMessageIn, ChatStart, ChatView
from omnichannel.conversations import service as conversations
from omnichannel.conversations.schemas import ConversationOut
from omnichannel.core import sockets
from omnichannel.core.deps import Caller
from omnichannel.core.live import LiveHub, chat_topic
from omnichannel.core.request import SettingsDep
from omnichannel.messaging import service as messaging
from omnichannel.messaging.schemas import MessageOut
from omnichannel.settings import Settings

router = APIRouter(tags=["chat"])

NOT_FOUND = responses((404, "No such chat (or not yours)"))
BACKLOG_PAGE = 500
TYPING_EVERY = 1.0


@router.post(
    "/chat/conversations",
    response_model=ConversationOut,
    summary="Start (or resume) a chat",
    description="A customer gets their one chat conversation: created, or reopened when it was closed. "
    "An online agent with room is assigned at once (round robin); otherwise it waits in the queue.",
    responses=responses(
        (403, "Customers start only their own chat"), (422, "No customer account to chat with")
    ),
)
async def start_chat(body: ChatStart, principal: Caller, db: DbSession) -> ConversationOut:
    conversation = await service.start(db, principal=principal, customer_id=body.customer_id)
    return ConversationOut.model_validate(conversation)


@router.get(
    "/chat/conversations/{conversation_id}",
    response_model=ChatView,
    summary="A chat and its latest messages",
    responses=NOT_FOUND,
)
async def get_chat(conversation_id: uuid.UUID, principal: Caller, db: DbSession) -> ChatView:
    conversation = await conversations.get_for(db, principal=principal, conversation_id=conversation_id)
    rows = await messaging.in_conversation(
        db, conversation=conversation, after=max(0, conversation.last_seq - 100), limit=100
    )
    return ChatView(
        conversation=ConversationOut.model_validate(conversation),
        messages=[MessageOut.model_validate(m) for m in rows],
    )


@router.post(
    "/chat/conversations/{conversation_id}/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=MessageOut,
    summary="Post a chat message",
    description="Stored, then broadcast to everyone in the room (WebSocket). Repeating a `client_id` "
    "returns the stored message (200) instead of a second one.",
    responses={**NOT_FOUND, **responses((429, "Too many chat messages"))},
)
async def post_message(
    conversation_id: uuid.UUID, body: ChatMessageIn, principal: Caller, db: DbSession, settings: SettingsDep
) -> MessageOut:
    conversation = await conversations.get_for(
        db, principal=principal, conversation_id=conversation_id, for_update=True
    )
    message, _ = await service.post(
        db,
        principal=principal,
        conversation=conversation,
        body=body.body,
        client_id=body.client_id,
        limit_per_minute=settings.chat_limit_per_user_per_minute,
    )
    return MessageOut.model_validate(message)


@router.post(
    "/chat/conversations/{conversation_id}/assign",
    response_model=ConversationOut,
    summary="An agent joins (takes) the chat",
    description="Emits `agent_joined` in the room. To hand it to someone else use the inbox's assign.",
    responses={**NOT_FOUND, **responses((403, "Staff only"))},
)
async def join_chat(conversation_id: uuid.UUID, principal: Caller, db: DbSession) -> ConversationOut:
    if not principal.is_staff:
        raise Forbidden("Staff only.")
    conversation = await conversations.get_for(
        db, principal=principal, conversation_id=conversation_id, for_update=True
    )
    await service.join(db, principal=principal, conversation=conversation)
    return ConversationOut.model_validate(conversation)


@router.post(
    "/chat/conversations/{conversation_id}/close",
    response_model=ConversationOut,
    summary="Close the chat",
    description="The conversation is resolved and `closed` is sent to the room; the customer's next "
    "message reopens it.",
    responses=NOT_FOUND,
)
async def close_chat(conversation_id: uuid.UUID, principal: Caller, db: DbSession) -> ConversationOut:
    conversation = await conversations.get_for(
        db, principal=principal, conversation_id=conversation_id, for_update=True
    )
    await service.close(db, principal=principal, conversation=conversation)
    return ConversationOut.model_validate(conversation)


@router.get(
    "/chat/widget",
    response_class=HTMLResponse,
    summary="The embeddable customer chat page (plain HTML + JS)",
    description="Signs the customer in through the platform (or takes a token from `#token=`), starts "
    "their chat and talks over `/ws/omnichannel/chat/{id}`, resuming from the last message after a "
    'reconnect. Embed it with `<iframe src="https://<platform>/api/omnichannel/chat/widget">` from an '
    "origin listed in `OMNICHANNEL_WIDGET_ORIGINS`: its Content-Security-Policy lets only those origins "
    "(and the platform) frame it.",
)
async def widget_page(settings: SettingsDep) -> HTMLResponse:
    return HTMLResponse(
        widget.page(),
        headers={
            "Content-Security-Policy": widget.policy(tuple(settings.widget_origins)),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        },
    )


@router.websocket("/ws/chat/{conversation_id}")
async def chat_socket(websocket: WebSocket, conversation_id: uuid.UUID, after: int = 0) -> None:
    """The chat room. See docs/omnichannel.md for the protocol."""
    auth = await sockets.authenticate(websocket)
    if auth is None:
        return
    principal, subprotocol = auth
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
                rows = await messaging.in_conversation(
                    session, conversation=conv, after=last, limit=BACKLOG_PAGE
                )
                payloads = [(m.seq, m.kind, messaging.message_out(m)) for m in rows]
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
