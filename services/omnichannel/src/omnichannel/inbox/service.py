"""Inbox use cases that span conversations, agents and chat: changing a conversation's status or
labels, and (re)assigning it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.rbac import Permission
from aintech_contracts.statuses import ConversationStatus
from aintech_shared.auth import Principal
from omnichannel.agents import service as agents
from omnichannel.conversations import service as conversations
from omnichannel.conversations.models import Conversation
from omnichannel.core.deps import user_uuid
from omnichannel.messaging import chat as chat_messages


async def update_conversation(
    db: AsyncSession,
    *,
    principal: Principal,
    conversation_id: uuid.UUID,
    status: str | None,
    snoozed_until: datetime | None,
    labels: list[str] | None,
) -> Conversation:
    """Change status or labels; closing a chat tells the room, and a freed agent takes the next
    queued conversation."""
    conversation = await conversations.get_for(
        db, principal=principal, conversation_id=conversation_id, for_update=True
    )
    was = conversation.status
    freed = await conversations.update(
        db,
        conversation=conversation,
        status=status,
        snoozed_until=snoozed_until,
        labels=labels,
    )
    if (
        conversation.channel == "chat"
        and status == ConversationStatus.resolved
        and was != ConversationStatus.resolved
    ):
        await chat_messages.chat_event(
            db, conversation=conversation, kind="closed", actor_id=user_uuid(principal)
        )
    if freed:
        await agents.assign_queued(db)
    return conversation


async def assign(
    db: AsyncSession, *, principal: Principal, conversation_id: uuid.UUID, agent_id: uuid.UUID | None
) -> Conversation:
    """Assign to an agent, or unassign: an agent takes an unassigned conversation or hands theirs
    over; reassigning a colleague's is a supervisor's act."""
    conversation = await conversations.get_for(
        db, principal=principal, conversation_id=conversation_id, for_update=True
    )
    conversations.ensure_may_assign(
        conversation,
        actor_id=user_uuid(principal),
        to=agent_id,
        supervisor=principal.has(Permission.calls_supervise),
    )
    previous = conversation.assignee_id
    if agent_id is not None:
        await agents.require(db, user_id=agent_id)
    await conversations.set_assignee(db, conversation=conversation, agent_id=agent_id)
    if conversation.channel == "chat" and agent_id is not None and agent_id != previous:
        await chat_messages.chat_event(db, conversation=conversation, kind="agent_joined", actor_id=agent_id)
    if agent_id is None:
        await agents.auto_assign(db, conversation=conversation)
    elif previous is not None and previous != agent_id:
        await agents.assign_queued(db)
    return conversation
