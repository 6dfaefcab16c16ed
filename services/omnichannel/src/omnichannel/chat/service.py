"""Chat rules: one chat per customer account, joined by agents, closed and reopened."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.statuses import ConversationStatus
from aintech_shared.auth import Principal
from aintech_shared.errors import Forbidden, NotFound, UnprocessableEntity
from omnichannel.agents import service as agents
from omnichannel.contacts import service as contacts
from omnichannel.conversations import service as conversations
from omnichannel.conversations.models import Conversation
from omnichannel.core import ratelimit
from omnichannel.core.deps import user_uuid
from omnichannel.messaging import chat as chat_messages
from omnichannel.messaging.models import Message


async def start(
    session: AsyncSession, *, principal: Principal, customer_id: uuid.UUID | None
) -> Conversation:
    """The caller's chat (found, reopened or created) and, when new, an agent for it."""
    if principal.is_staff:
        if customer_id is None:
            raise UnprocessableEntity("Staff start a chat for a customer: give customer_id.")
        contact = await contacts.get(session, customer_id=customer_id)
        if contact is None or contact.user_id is None:
            raise UnprocessableEntity("Only a customer with an account can chat.")
        user_id = contact.user_id
    else:
        if customer_id is not None:
            raise Forbidden("Customers start their own chat only.")
        user_id = user_uuid(principal)
        contact = await contacts.for_user(session, user_id=user_id)
    found = await conversations.find_or_create(
        session,
        channel="chat",
        address=str(user_id),
        customer_id=contact.customer_id if contact else None,
        customer_user_id=user_id,
        display_name=(contact.display_name if contact else None) or principal.email or None,
    )
    conversation = found.conversation
    if found.reopened:
        await chat_messages.chat_event(session, conversation=conversation, kind="reopened", actor_id=user_id)
    if conversation.assignee_id is None:
        agent_id = await agents.auto_assign(session, conversation=conversation)
        if agent_id is not None:
            await chat_messages.chat_event(
                session, conversation=conversation, kind="agent_joined", actor_id=agent_id
            )
    await conversations.publish(session, conversation=conversation)
    return conversation


async def post(
    session: AsyncSession,
    *,
    principal: Principal,
    conversation: Conversation,
    body: str,
    client_id: str | None,
    limit_per_minute: int,
) -> tuple[Message, bool]:
    """Persist a chat message from the caller (customer or agent); 429 beyond the per-minute limit."""
    if conversation.channel != "chat":
        raise NotFound("No such chat.")
    user_id = user_uuid(principal)
    await ratelimit.hit(
        session,
        key=f"chat:user:{user_id}",
        limit=limit_per_minute,
        window=timedelta(minutes=1),
        what="chat messages",
    )
    sender_type = "agent" if principal.is_staff else "customer"
    if principal.is_staff:
        await join(session, principal=principal, conversation=conversation)
    return await chat_messages.post_chat(
        session,
        conversation=conversation,
        sender_type=sender_type,
        sender_id=user_id,
        body=body,
        client_id=client_id,
    )


async def join(session: AsyncSession, *, principal: Principal, conversation: Conversation) -> bool:
    """An agent opening an unassigned chat takes it (``agent_joined``); True when they did."""
    if (
        not principal.is_staff
        or conversation.assignee_id is not None
        or conversation.status == ConversationStatus.resolved
    ):
        return False
    agent_id = user_uuid(principal)
    await conversations.set_assignee(session, conversation=conversation, agent_id=agent_id)
    await chat_messages.chat_event(session, conversation=conversation, kind="agent_joined", actor_id=agent_id)
    return True


async def close(session: AsyncSession, *, principal: Principal, conversation: Conversation) -> Conversation:
    """Resolve the chat (``closed`` event); the agent's capacity is freed for the queue."""
    if conversation.status == ConversationStatus.resolved:
        return conversation
    await conversations.update(
        session,
        conversation=conversation,
        status=ConversationStatus.resolved,
        snoozed_until=None,
        labels=None,
    )
    await chat_messages.chat_event(
        session, conversation=conversation, kind="closed", actor_id=user_uuid(principal)
    )
    await agents.assign_queued(session)
    return conversation
