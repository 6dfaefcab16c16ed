"""Live-chat messages and chat events (agent joined, closed, reopened) in the message sequence."""

from __future__ import annotations

import uuid

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.omnichannel import (
    MessageReceived,
)
from aintech_contracts.statuses import ConversationStatus
from omnichannel.agents import service as agents
from omnichannel.conversations import service as conversations
from omnichannel.conversations.models import Conversation
from omnichannel.core.events import OUTBOX
from omnichannel.messaging import repository
from omnichannel.messaging.models import Message
from omnichannel.messaging.store import log_interaction, preview, push_message, store


async def post_chat(
    session: AsyncSession,
    *,
    conversation: Conversation,
    sender_type: str,
    sender_id: uuid.UUID,
    body: str,
    client_id: str | None,
) -> tuple[Message, bool]:
    """Persist a chat message, then broadcast it (at commit); a repeated ``client_id`` returns the
    stored message instead of a second one. Returns (message, created)."""
    if client_id:
        existing = await repository.by_client_id(session, conversation.id, client_id)
        if existing is not None:
            return existing, False
    inbound = sender_type == "customer"
    if inbound and conversation.status in (ConversationStatus.resolved, ConversationStatus.snoozed):
        found = await conversations.find_or_create(
            session,
            channel="chat",
            address=conversation.address,
            customer_id=conversation.customer_id,
            customer_user_id=conversation.customer_user_id,
            display_name=conversation.display_name,
        )
        conversation = found.conversation
    message = await store(
        session,
        conversation=conversation,
        values={
            "channel": "chat",
            "direction": "inbound" if inbound else "outbound",
            "sender_type": sender_type,
            "sender_id": sender_id,
            "from_address": str(sender_id),
            "to_address": conversation.address if not inbound else "",
            "body": body,
            "client_id": client_id,
            "provider": "chat",
            "status": "received" if inbound else "sent",
            "sent_at": None if inbound else func.now(),
        },
    )
    if message is None:  # the same client id raced in on another connection
        existing = await repository.by_client_id(session, conversation.id, client_id or "")
        assert existing is not None
        return existing, False
    await conversations.touch(
        session, conversation=conversation, preview=preview(message), at=message.created_at, inbound=inbound
    )
    if inbound:
        await agents.auto_assign(session, conversation=conversation)
        await OUTBOX.publish(
            session,
            MessageReceived(
                message_id=message.id,
                conversation_id=conversation.id,
                channel="chat",
                customer_id=conversation.customer_id,
                from_address=str(sender_id),
                preview=preview(message),
                received_at=message.created_at,
            ),
            key=str(conversation.id),
        )
    await log_interaction(
        session, message=message, conversation=conversation, outcome="received" if inbound else "sent"
    )
    await push_message(session, conversation=conversation, message=message)
    return message, True


async def chat_event(
    session: AsyncSession, *, conversation: Conversation, kind: str, actor_id: uuid.UUID | None
) -> Message:
    """A persisted chat event (agent joined, closed, reopened) in the message sequence."""
    message = await store(
        session,
        conversation=conversation,
        values={
            "channel": conversation.channel,
            "direction": "outbound",
            "kind": kind,
            "sender_type": "system",
            "sender_id": actor_id,
            "body": "",
            "status": "sent",
        },
    )
    assert message is not None
    await push_message(session, conversation=conversation, message=message)
    return message
