"""Queries on messages, attachments, provider events, opt-outs and renewal confirmations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.pagination import keyset_page
from omnichannel.conversations.models import Conversation
from omnichannel.messaging.models import (
    Attachment,
    Message,
    OptOut,
    ProviderEvent,
    RenewalConfirmation,
    SealedContent,
)


async def get(session: AsyncSession, message_id: uuid.UUID, *, for_update: bool = False) -> Message | None:
    query = select(Message).where(Message.id == message_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def by_provider_id(
    session: AsyncSession, provider: str, provider_message_id: str, *, for_update: bool = False
) -> Message | None:
    query = select(Message).where(
        Message.provider == provider, Message.provider_message_id == provider_message_id
    )
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def by_client_id(session: AsyncSession, conversation_id: uuid.UUID, client_id: str) -> Message | None:
    query = select(Message).where(Message.conversation_id == conversation_id, Message.client_id == client_id)
    return (await session.scalars(query)).first()


async def insert_message(session: AsyncSession, values: dict[str, Any]) -> Message | None:
    """Insert unless the provider's id (or the chat client's id) is already stored; the new row or None."""
    stmt = insert(Message).values(**values)
    if values.get("provider_message_id") is not None:
        stmt = stmt.on_conflict_do_nothing(
            index_elements=["provider", "provider_message_id"],
            index_where=text("provider_message_id IS NOT NULL"),
        )
    elif values.get("client_id") is not None:
        stmt = stmt.on_conflict_do_nothing(
            index_elements=["conversation_id", "client_id"], index_where=text("client_id IS NOT NULL")
        )
    return (await session.scalars(stmt.returning(Message))).first()


async def add_attachments(session: AsyncSession, attachments: Sequence[Attachment]) -> None:
    session.add_all(attachments)
    await session.flush()


async def attachments_of(session: AsyncSession, message_id: uuid.UUID) -> Sequence[Attachment]:
    return (await session.scalars(select(Attachment).where(Attachment.message_id == message_id))).all()


async def attachments_by_message(
    session: AsyncSession, message_ids: Sequence[uuid.UUID]
) -> Sequence[Attachment]:
    if not message_ids:
        return []
    return (await session.scalars(select(Attachment).where(Attachment.message_id.in_(message_ids)))).all()


async def lock_many(session: AsyncSession, message_ids: Sequence[uuid.UUID]) -> Sequence[Message]:
    query = select(Message).where(Message.id.in_(message_ids)).order_by(Message.id).with_for_update()
    return (await session.scalars(query)).all()


async def attachment(session: AsyncSession, attachment_id: uuid.UUID) -> Attachment | None:
    return await session.get(Attachment, attachment_id)


async def in_conversation(
    session: AsyncSession, conversation_id: uuid.UUID, *, after: int, limit: int
) -> Sequence[Message]:
    query = (
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.seq > after)
        .order_by(Message.seq)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def history(
    session: AsyncSession, *, channel: str, customer_id: uuid.UUID, after: list[Any] | None, limit: int
) -> tuple[list[Message], list[Any] | None]:
    """A customer's messages on one channel, newest first (keyset: created_at, seq, id)."""
    where = (Message.channel == channel, Conversation.customer_id == customer_id, Message.kind == "message")
    base = select(Message).join(Conversation, Conversation.id == Message.conversation_id).where(*where)
    return await keyset_page(
        session, base, keys=(Message.created_at, Message.seq, Message.id), after=after, limit=limit
    )


async def claim_due(session: AsyncSession, *, limit: int, now: datetime) -> Sequence[Message]:
    """Queued messages due for a (re)try, skipping those of paused campaigns; locked for the claim."""
    query = (
        select(Message)
        .where(
            Message.status == "queued",
            Message.next_attempt_at <= now,
            text(
                "(messages.campaign_id IS NULL OR NOT EXISTS (SELECT 1 FROM campaigns c "
                "WHERE c.id = messages.campaign_id AND c.status <> 'running'))"
            ),
        )
        .order_by(Message.next_attempt_at, Message.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Message)
    )
    return (await session.scalars(query)).all()


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the earliest queued message (of no paused campaign) is due: what the dispatcher sleeps
    until when nothing notifies it sooner (a retry's backoff). None: nothing queued."""
    return await session.scalar(
        select(func.min(Message.next_attempt_at)).where(
            Message.status == "queued",
            text(
                "(messages.campaign_id IS NULL OR NOT EXISTS (SELECT 1 FROM campaigns c "
                "WHERE c.id = messages.campaign_id AND c.status <> 'running'))"
            ),
        )
    )


async def stuck_sending(session: AsyncSession, *, claimed_before: datetime) -> Sequence[Message]:
    query = (
        select(Message)
        .where(Message.status == "sending", Message.claimed_at < claimed_before)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()


async def record_provider_event(
    session: AsyncSession, *, provider: str, event_id: str, message_id: uuid.UUID | None, status: str | None
) -> bool:
    """True the first time (provider, event_id) is seen; a retried callback returns False."""
    inserted = await session.execute(
        insert(ProviderEvent)
        .values(provider=provider, event_id=event_id[:200], message_id=message_id, status=status)
        .on_conflict_do_nothing()
        .returning(ProviderEvent.event_id)
    )
    return inserted.first() is not None


async def opt_out_state(session: AsyncSession, channel: str, address: str) -> OptOut | None:
    return await session.get(OptOut, (channel, address))


async def set_opt_out(
    session: AsyncSession,
    *,
    channel: str,
    address: str,
    opted_out: bool,
    keyword: str,
    customer_id: uuid.UUID | None,
) -> None:
    stmt = insert(OptOut).values(
        channel=channel, address=address, opted_out=opted_out, keyword=keyword[:50], customer_id=customer_id
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["channel", "address"],
            set_={"opted_out": opted_out, "keyword": keyword[:50], "updated_at": func.now()},
        )
    )


async def opt_outs(
    session: AsyncSession, *, after: list[Any] | None, limit: int
) -> tuple[list[OptOut], list[Any] | None]:
    """Current opt-outs, most recent first (keyset: updated_at, channel, address)."""
    return await keyset_page(
        session,
        select(OptOut).where(OptOut.opted_out),
        keys=(OptOut.updated_at, OptOut.channel, OptOut.address),
        after=after,
        limit=limit,
    )


async def latest_reminder(
    session: AsyncSession, conversation_id: uuid.UUID, *, since: datetime
) -> Message | None:
    """The newest renewal reminder sent in the conversation that no reply has confirmed yet."""
    query = (
        select(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.direction == "outbound",
            Message.template == "policy_renewal_reminder",
            Message.created_at >= since,
            Message.context["policy_id"].astext.is_not(None),
            ~select(RenewalConfirmation.reminder_message_id)
            .where(RenewalConfirmation.reminder_message_id == Message.id)
            .exists(),
        )
        .order_by(Message.seq.desc())
        .limit(1)
    )
    return (await session.scalars(query)).first()


async def confirm_reminder(
    session: AsyncSession,
    *,
    reminder_id: uuid.UUID,
    policy_id: uuid.UUID,
    customer_id: uuid.UUID,
    reply_id: uuid.UUID,
) -> bool:
    inserted = await session.execute(
        insert(RenewalConfirmation)
        .values(
            reminder_message_id=reminder_id,
            policy_id=policy_id,
            customer_id=customer_id,
            reply_message_id=reply_id,
        )
        .on_conflict_do_nothing()
        .returning(RenewalConfirmation.reminder_message_id)
    )
    return inserted.first() is not None


async def set_status(session: AsyncSession, message_id: uuid.UUID, values: dict[str, Any]) -> None:
    await session.execute(update(Message).where(Message.id == message_id).values(**values))


async def fail_queued_of_campaign(session: AsyncSession, campaign_id: uuid.UUID) -> None:
    await session.execute(
        update(Message)
        .where(Message.campaign_id == campaign_id, Message.status == "queued")
        .values(status="failed", error_code="cancelled", error_message="The campaign was cancelled.")
    )


async def seal(session: AsyncSession, *, message_id: uuid.UUID, body: str, html: str | None) -> None:
    session.add(SealedContent(message_id=message_id, body=body, html=html))
    await session.flush()


async def unseal(session: AsyncSession, *, message_id: uuid.UUID) -> None:
    await session.execute(delete(SealedContent).where(SealedContent.message_id == message_id))


async def sealed_of(session: AsyncSession, message_ids: Sequence[uuid.UUID]) -> Sequence[SealedContent]:
    if not message_ids:
        return []
    return (
        await session.scalars(select(SealedContent).where(SealedContent.message_id.in_(message_ids)))
    ).all()
