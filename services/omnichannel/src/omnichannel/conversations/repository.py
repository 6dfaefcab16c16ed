"""Queries on conversations and notes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from omnichannel.conversations.models import ACTIVE_STATUSES, Conversation, ConversationNote


async def get(
    session: AsyncSession, conversation_id: uuid.UUID, *, for_update: bool = False
) -> Conversation | None:
    if not for_update:
        return await session.get(Conversation, conversation_id)  # the identity map first
    query = select(Conversation).where(Conversation.id == conversation_id).with_for_update()
    return (await session.scalars(query)).first()


async def load(session: AsyncSession, conversation_ids: Sequence[uuid.UUID]) -> Sequence[Conversation]:
    """Load many conversations in one query (later ``get`` calls are served from the session)."""
    if not conversation_ids:
        return []
    return (
        await session.scalars(select(Conversation).where(Conversation.id.in_(set(conversation_ids))))
    ).all()


async def by_address(
    session: AsyncSession, channel: str, address: str, *, kind: str = "contact", for_update: bool = False
) -> Conversation | None:
    query = select(Conversation).where(
        Conversation.channel == channel, Conversation.address == address, Conversation.kind == kind
    )
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def insert_if_absent(session: AsyncSession, values: dict[str, Any]) -> None:
    """Create the conversation of (channel, address, kind) unless a concurrent request just did."""
    await session.execute(
        insert(Conversation)
        .values(**values)
        .on_conflict_do_nothing(constraint="uq_conversations_channel_address_kind")
    )


async def next_seq(session: AsyncSession, conversation_id: uuid.UUID) -> int:
    """Reserve the conversation's next message number; the row lock orders messages by commit."""
    return int(
        (
            await session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(last_seq=Conversation.last_seq + 1)
                .returning(Conversation.last_seq)
            )
        ).scalar_one()
    )


async def search(
    session: AsyncSession,
    *,
    status: str | None,
    channel: str | None,
    assignee_id: uuid.UUID | None,
    unassigned: bool,
    label: str | None,
    customer_id: uuid.UUID | None,
    viewer: CustomerViewer | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[Conversation], int]:
    conditions: list[Any] = [Conversation.kind == "contact"]
    if status:
        conditions.append(Conversation.status == status)
    if channel:
        conditions.append(Conversation.channel == channel)
    if assignee_id:
        conditions.append(Conversation.assignee_id == assignee_id)
    if unassigned:
        conditions.append(Conversation.assignee_id.is_(None))
    if label:
        conditions.append(Conversation.labels.contains([label]))
    if customer_id:
        conditions.append(Conversation.customer_id == customer_id)
    if viewer is not None:
        conditions.append(owned_by(viewer))
    where = and_(*conditions) if conditions else text("true")
    total = int(await session.scalar(select(func.count()).select_from(Conversation).where(where)) or 0)
    rows = await session.scalars(
        select(Conversation)
        .where(where)
        .order_by(Conversation.last_message_at.desc().nulls_last(), Conversation.id)
        .offset(offset)
        .limit(limit)
    )
    return rows.all(), total


@dataclass(frozen=True)
class CustomerViewer:
    """A customer reading conversations: their user id, and the CRM customer linked to it (the CRM
    links an account only once it proved its e-mail address)."""

    user_id: uuid.UUID
    customer_id: uuid.UUID | None


def owned_by(viewer: CustomerViewer) -> Any:
    """The customer's own conversations: the chats they opened themselves, and the threads of the CRM
    customer their account is linked to. Never account mails, never a thread someone merely mailed."""
    own_chat = and_(Conversation.channel == "chat", Conversation.customer_user_id == viewer.user_id)
    if viewer.customer_id is None:
        return and_(Conversation.kind == "contact", own_chat)
    linked = and_(Conversation.channel != "chat", Conversation.customer_id == viewer.customer_id)
    return and_(Conversation.kind == "contact", or_(own_chat, linked))


def is_owned_by(conversation: Conversation, viewer: CustomerViewer) -> bool:
    """``owned_by`` for one loaded conversation."""
    if conversation.kind != "contact":
        return False
    if conversation.channel == "chat":
        return conversation.customer_user_id == viewer.user_id
    return viewer.customer_id is not None and conversation.customer_id == viewer.customer_id


async def count_active(session: AsyncSession, assignee_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(Conversation.assignee_id == assignee_id, Conversation.status.in_(ACTIVE_STATUSES))
        )
        or 0
    )


async def active_counts(session: AsyncSession) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        select(Conversation.assignee_id, func.count())
        .where(Conversation.assignee_id.is_not(None), Conversation.status.in_(ACTIVE_STATUSES))
        .group_by(Conversation.assignee_id)
    )
    return {r[0]: int(r[1]) for r in rows if r[0] is not None}


async def queued(session: AsyncSession, *, limit: int) -> Sequence[Conversation]:
    """Unassigned conversations waiting for an agent, oldest first (locked, others skip them)."""
    query = (
        select(Conversation)
        .where(Conversation.assignee_id.is_(None), Conversation.status.in_(ACTIVE_STATUSES))
        .order_by(Conversation.created_at, Conversation.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()


async def snoozed_due(session: AsyncSession, *, now: datetime) -> Sequence[Conversation]:
    query = (
        select(Conversation)
        .where(Conversation.status == "snoozed", Conversation.snoozed_until <= now)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()


async def relink_customer(
    session: AsyncSession, *, address_in: Sequence[str], customer_id: uuid.UUID
) -> None:
    await session.execute(
        update(Conversation)
        .where(Conversation.address.in_(address_in), Conversation.customer_id.is_(None))
        .values(customer_id=customer_id)
    )


async def add_note(session: AsyncSession, note: ConversationNote) -> None:
    session.add(note)
    await session.flush()


async def notes(session: AsyncSession, conversation_id: uuid.UUID) -> Sequence[ConversationNote]:
    query = (
        select(ConversationNote)
        .where(ConversationNote.conversation_id == conversation_id)
        .order_by(ConversationNote.created_at, ConversationNote.id)
    )
    return (await session.scalars(query)).all()
