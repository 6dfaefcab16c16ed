"""Every query on WhatsApp templates and on the customer's service window."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omnichannel.conversations.models import Conversation
from omnichannel.whatsapp.models import WhatsAppTemplate


async def listed(session: AsyncSession) -> Sequence[WhatsAppTemplate]:
    rows = await session.scalars(
        select(WhatsAppTemplate).order_by(WhatsAppTemplate.purpose, WhatsAppTemplate.language)
    )
    return rows.all()


async def find(session: AsyncSession, *, purpose: str, language: str) -> WhatsAppTemplate | None:
    return await session.scalar(
        select(WhatsAppTemplate).where(
            WhatsAppTemplate.purpose == purpose, WhatsAppTemplate.language == language
        )
    )


async def by_content_sid(session: AsyncSession, *, content_sid: str) -> Sequence[WhatsAppTemplate]:
    rows = await session.scalars(
        select(WhatsAppTemplate).where(WhatsAppTemplate.content_sid == content_sid).with_for_update()
    )
    return rows.all()


async def last_inbound_at(session: AsyncSession, *, address: str) -> datetime | None:
    """When the customer at ``address`` last wrote to us on WhatsApp (None: never)."""
    return await session.scalar(
        select(Conversation.last_inbound_at).where(
            Conversation.channel == "whatsapp",
            Conversation.address == address,
            Conversation.kind == "contact",
        )
    )
