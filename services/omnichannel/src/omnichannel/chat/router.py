"""Chat over REST and over WebSocket (``/ws/chat/{conversation_id}``), and the customer page."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, WebSocket, status
from fastapi.responses import HTMLResponse

from aintech_shared.db import DbSession
from aintech_shared.errors import Forbidden, responses
from omnichannel.chat import service, socket, widget
from omnichannel.chat.schemas import ChatMessageIn, ChatStart, ChatView
from omnichannel.conversations import service as conversations
from omnichannel.conversations.schemas import ConversationOut
from omnichannel.core import sockets
from omnichannel.core.deps import Caller
from omnichannel.core.request import SettingsDep
from omnichannel.messaging import store as message_store
from omnichannel.messaging.schemas import MessageOut

router = APIRouter(tags=["chat"])

NOT_FOUND = responses((404, "No such chat (or not yours)"))


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
    rows = await message_store.in_conversation(
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
    """The chat room (protocol in ``chat/socket.py`` and docs/omnichannel.md)."""
    auth = await sockets.authenticate(websocket)
    if auth is None:
        return
    principal, subprotocol = auth
    await socket.serve(
        websocket, principal=principal, subprotocol=subprotocol, conversation_id=conversation_id, after=after
    )
