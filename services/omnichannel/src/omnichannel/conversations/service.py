"""Conversation rules: found or created per contact and channel, statuses, labels, notes, access."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.auth import Principal
from aintech_shared.errors import Forbidden, NotFound, UnprocessableEntity
from omnichannel.contacts import service as contacts
from omnichannel.conversations import repository
from omnichannel.conversations.models import Conversation, ConversationNote
from omnichannel.conversations.schemas import ConversationOut
from omnichannel.core import live
from omnichannel.core.base import utcnow
from omnichannel.core.deps import user_uuid


@dataclass(frozen=True)
class Found:
    conversation: Conversation
    created: bool
    reopened: bool


async def find_or_create(
    session: AsyncSession,
    *,
    channel: str,
    address: str,
    customer_id: uuid.UUID | None,
    customer_user_id: uuid.UUID | None,
    display_name: str | None,
    subject: str | None = None,
    initial_status: str = "open",
    reopen: bool = True,
    kind: str = "contact",
) -> Found:
    """The one conversation of (channel, address, kind), locked; created, or reopened when ``reopen``.

    The customer is whoever the CRM says the address belongs to (``customer_id``); a user is
    recorded only with that customer (the CRM's link) or as the author of their own chat, never
    because a message was sent to the address. Account mails (``kind='account'``) belong to nobody.
    """
    if kind == "account":
        customer_id = customer_user_id = None
    elif channel != "chat" and customer_id is None:
        customer_user_id = None
    created = False
    conversation = await repository.by_address(session, channel, address, kind=kind, for_update=True)
    if conversation is None:
        await repository.insert_if_absent(
            session,
            {
                "id": uuid.uuid4(),
                "channel": channel,
                "address": address,
                "kind": kind,
                "customer_id": customer_id,
                "customer_user_id": customer_user_id,
                "display_name": display_name,
                "subject": subject,
                "status": initial_status,
                "resolved_at": utcnow() if initial_status == "resolved" else None,
            },
        )
        conversation = await repository.by_address(session, channel, address, kind=kind, for_update=True)
        assert conversation is not None
        created = conversation.last_seq == 0
    if customer_id and conversation.customer_id is None:
        conversation.customer_id = customer_id
    if customer_user_id and conversation.customer_user_id is None:
        conversation.customer_user_id = customer_user_id
    if display_name and not conversation.display_name:
        conversation.display_name = display_name
    reopened = False
    if reopen and conversation.status in ("resolved", "snoozed") and not created:
        reopened = conversation.status == "resolved"
        conversation.status = "open"
        conversation.snoozed_until = None
        conversation.resolved_at = None
        if reopened:
            conversation.assignee_id = None
    return Found(conversation=conversation, created=created, reopened=reopened)


async def next_seq(session: AsyncSession, *, conversation: Conversation) -> int:
    seq = await repository.next_seq(session, conversation.id)
    conversation.last_seq = seq
    return seq


async def touch(
    session: AsyncSession, *, conversation: Conversation, preview: str, at: datetime, inbound: bool
) -> None:
    """Record the latest message on the conversation (for the inbox list)."""
    conversation.last_message_at = at
    conversation.last_message_preview = preview[:200]
    if inbound:
        conversation.last_inbound_at = at
    conversation.updated_at = utcnow()
    await session.flush()


async def get_for(
    session: AsyncSession, *, principal: Principal, conversation_id: uuid.UUID, for_update: bool = False
) -> Conversation:
    """The conversation if the caller may see it: staff see all, a customer only theirs (else 404):
    their own chats and the threads of the CRM customer linked to their account."""
    conversation = await repository.get(session, conversation_id, for_update=for_update)
    if conversation is None:
        raise NotFound("No such conversation.")
    if not principal.is_staff and not repository.is_owned_by(
        conversation, await customer_viewer(session, principal=principal)
    ):
        raise NotFound("No such conversation.")
    return conversation


async def customer_viewer(session: AsyncSession, *, principal: Principal) -> repository.CustomerViewer:
    """Who a customer is for conversations: their user id and the CRM customer linked to it."""
    user_id = user_uuid(principal)
    contact = await contacts.for_user(session, user_id=user_id)
    return repository.CustomerViewer(user_id=user_id, customer_id=contact.customer_id if contact else None)


async def load(session: AsyncSession, *, conversation_ids: Sequence[uuid.UUID]) -> Sequence[Conversation]:
    return await repository.load(session, conversation_ids)


async def get(
    session: AsyncSession, *, conversation_id: uuid.UUID, for_update: bool = False
) -> Conversation | None:
    return await repository.get(session, conversation_id, for_update=for_update)


async def search(
    session: AsyncSession,
    *,
    principal: Principal,
    status: str | None,
    channel: str | None,
    assignee_id: uuid.UUID | None,
    unassigned: bool,
    label: str | None,
    customer_id: uuid.UUID | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[Conversation], int]:
    """Inbox listing; a customer's listing is always narrowed to their own conversations."""
    return await repository.search(
        session,
        status=status,
        channel=channel,
        assignee_id=assignee_id,
        unassigned=unassigned,
        label=label,
        customer_id=customer_id,
        viewer=None if principal.is_staff else await customer_viewer(session, principal=principal),
        offset=offset,
        limit=limit,
    )


async def update(
    session: AsyncSession,
    *,
    conversation: Conversation,
    status: str | None,
    snoozed_until: datetime | None,
    labels: list[str] | None,
) -> bool:
    """Apply a status and/or label change; True when the agent's load may have dropped."""
    freed = False
    if status is not None:
        if status == "snoozed":
            if snoozed_until is None or snoozed_until <= utcnow():
                raise UnprocessableEntity(
                    "Snoozing needs a future snoozed_until.",
                    errors=[
                        {
                            "location": "body",
                            "field": "snoozed_until",
                            "message": "must be in the future",
                            "type": "value_error",
                        }
                    ],
                )
            conversation.snoozed_until = snoozed_until
        else:
            conversation.snoozed_until = None
        if status == "resolved":
            conversation.resolved_at = utcnow()
        elif conversation.status == "resolved":
            conversation.resolved_at = None
        freed = status in ("snoozed", "resolved") and conversation.status in ("open", "pending")
        conversation.status = status
    if labels is not None:
        conversation.labels = sorted({label.lower() for label in labels})
    conversation.updated_at = utcnow()
    await session.flush()
    await publish(session, conversation=conversation)
    return freed


def ensure_may_assign(
    conversation: Conversation, *, actor_id: uuid.UUID, to: uuid.UUID | None, supervisor: bool
) -> None:
    """Who may (re)assign: a supervisor anything; an agent only an unassigned conversation to
    themselves, or their own to someone else or back to the queue (a hand-over). Never a
    colleague's conversation (403)."""
    if supervisor:
        return
    current = conversation.assignee_id
    if current == actor_id:
        return  # the assignee keeps it, hands it over or puts it back in the queue
    if current is None:
        if to in (None, actor_id):
            return  # take it, or leave it in the queue
        raise Forbidden("Only supervisors assign conversations to someone else.")
    raise Forbidden(
        "This conversation is assigned to a colleague: only a supervisor or its assignee can reassign it."
    )


async def set_assignee(
    session: AsyncSession, *, conversation: Conversation, agent_id: uuid.UUID | None
) -> None:
    conversation.assignee_id = agent_id
    conversation.updated_at = utcnow()
    await session.flush()
    await publish(session, conversation=conversation)


async def add_note(
    session: AsyncSession, *, conversation: Conversation, author_id: uuid.UUID, body: str
) -> ConversationNote:
    note = ConversationNote(conversation_id=conversation.id, author_id=author_id, body=body)
    await repository.add_note(session, note)
    return note


async def notes(session: AsyncSession, *, conversation: Conversation) -> Sequence[ConversationNote]:
    return await repository.notes(session, conversation.id)


async def queued(session: AsyncSession, *, limit: int) -> Sequence[Conversation]:
    return await repository.queued(session, limit=limit)


async def active_count(session: AsyncSession, *, agent_id: uuid.UUID) -> int:
    return await repository.count_active(session, agent_id)


async def active_counts(session: AsyncSession) -> dict[uuid.UUID, int]:
    return await repository.active_counts(session)


async def wake_snoozed(session: AsyncSession) -> int:
    """Snoozed conversations whose time has come are open again."""
    due = await repository.snoozed_due(session, now=utcnow())
    for conversation in due:
        conversation.status = "open"
        conversation.snoozed_until = None
        await publish(session, conversation=conversation)
    await session.flush()
    return len(due)


def summary(conversation: Conversation) -> dict[str, Any]:
    return ConversationOut.model_validate(conversation).model_dump(mode="json")


async def publish(session: AsyncSession, *, conversation: Conversation) -> None:
    """Tell connected agents (and the customer on chat) that the conversation changed."""
    event = {"type": "conversation.updated", "conversation": summary(conversation)}
    await live.notify(session, live.INBOX_TOPIC, event)
    if conversation.channel == "chat":
        await live.notify(
            session,
            live.chat_topic(conversation.id),
            {
                "type": "conversation",
                "status": conversation.status,
                "assignee_id": str(conversation.assignee_id) if conversation.assignee_id else None,
            },
        )
