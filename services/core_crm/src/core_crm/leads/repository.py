"""The queries of inbound leads."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core_crm.leads.models import Lead


async def seen(session: AsyncSession, signature_digest: str) -> bool:
    return await session.scalar(select(Lead.id).where(Lead.signature_digest == signature_digest)) is not None


async def add(session: AsyncSession, lead: Lead) -> None:
    session.add(lead)
    await session.flush()
