"""Queries on campaigns and their recipients."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.pagination import keyset_page, newest_first
from omnichannel.campaigns.models import Campaign, CampaignRecipient
from omnichannel.messaging.models import Message


async def add(session: AsyncSession, campaign: Campaign) -> None:
    session.add(campaign)
    await session.flush()


async def get(session: AsyncSession, campaign_id: uuid.UUID, *, for_update: bool = False) -> Campaign | None:
    query = select(Campaign).where(Campaign.id == campaign_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def listing(
    session: AsyncSession, *, after: list[Any] | None, limit: int
) -> tuple[list[Campaign], list[Any] | None]:
    """Campaigns, newest first (keyset: created_at, id)."""
    return await newest_first(
        session, Campaign, at=Campaign.created_at, id_=Campaign.id, conditions=(), after=after, limit=limit
    )


_SNAPSHOT = text(
    """
    INSERT INTO campaign_recipients (campaign_id, customer_id, address, language, status, detail, updated_at)
    SELECT :campaign_id, c.customer_id, a.address, COALESCE(:language, c.preferred_language, 'es'),
           CASE WHEN o.opted_out THEN 'skipped' ELSE 'pending' END,
           CASE WHEN o.opted_out THEN 'opted out' END,
           now()
    FROM contacts c
    CROSS JOIN LATERAL (
        SELECT CASE WHEN :channel = 'email' THEN c.email ELSE COALESCE(c.mobile, c.phone) END AS address
    ) a
    LEFT JOIN opt_outs o ON o.channel = :channel AND o.address = a.address
    WHERE c.segment = :segment AND c.deleted_at IS NULL AND a.address IS NOT NULL
    ON CONFLICT DO NOTHING
    """
)


async def snapshot_recipients(
    session: AsyncSession, *, campaign_id: uuid.UUID, segment: str, channel: str, language: str | None
) -> int:
    """Every reachable customer of the segment becomes a recipient (opted-out ones skipped)."""
    result = await session.execute(
        _SNAPSHOT, {"campaign_id": campaign_id, "segment": segment, "channel": channel, "language": language}
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def running(session: AsyncSession) -> Sequence[Campaign]:
    query = select(Campaign).where(Campaign.status == "running").with_for_update(skip_locked=True)
    return (await session.scalars(query)).all()


async def next_pending(
    session: AsyncSession, campaign_id: uuid.UUID, *, limit: int
) -> Sequence[CampaignRecipient]:
    query = (
        select(CampaignRecipient)
        .where(CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.status == "pending")
        .order_by(CampaignRecipient.customer_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()


async def progress(session: AsyncSession, campaign_id: uuid.UUID) -> dict[str, int]:
    """Recipients by state, the message's delivery state standing in once one was queued."""
    rows = await session.execute(
        select(CampaignRecipient.status, Message.status, func.count())
        .select_from(CampaignRecipient)
        .outerjoin(Message, Message.id == CampaignRecipient.message_id)
        .where(CampaignRecipient.campaign_id == campaign_id)
        .group_by(CampaignRecipient.status, Message.status)
    )
    out = {"pending": 0, "queued": 0, "sent": 0, "delivered": 0, "failed": 0, "skipped": 0}
    for recipient_status, message_status, count in rows:
        if recipient_status in ("pending", "skipped"):
            out[recipient_status] += int(count)
        elif message_status in ("queued", "sending", None):
            out["queued"] += int(count)
        elif message_status == "sent":
            out["sent"] += int(count)
        elif message_status in ("delivered", "opened", "read"):
            out["delivered"] += int(count)
        else:
            out["failed"] += int(count)
    out["total"] = sum(out.values())
    return out


async def recipients(
    session: AsyncSession, campaign_id: uuid.UUID, *, after: list[Any] | None, limit: int
) -> tuple[list[tuple[CampaignRecipient, str | None]], list[Any] | None]:
    """A campaign's recipients with their message's status, by customer id (keyset: customer_id)."""
    rows, next_key = await keyset_page(
        session,
        select(CampaignRecipient, Message.status)
        .outerjoin(Message, Message.id == CampaignRecipient.message_id)
        .where(CampaignRecipient.campaign_id == campaign_id),
        keys=(CampaignRecipient.customer_id,),
        descending=False,
        after=after,
        limit=limit,
        key_of=lambda row: [row[0].customer_id],
        scalars=False,
    )
    return [(r[0], r[1]) for r in rows], next_key


async def set_status(session: AsyncSession, campaign_id: uuid.UUID, **values: object) -> None:
    await session.execute(update(Campaign).where(Campaign.id == campaign_id).values(**values))
