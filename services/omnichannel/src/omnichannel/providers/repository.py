"""Queries on what the console providers recorded."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnichannel.providers.models import ConsoleDelivery


async def deliveries(
    session: AsyncSession, *, channel: str | None, to: str | None, offset: int, limit: int
) -> tuple[Sequence[ConsoleDelivery], int]:
    conditions = []
    if channel:
        conditions.append(ConsoleDelivery.channel == channel)
    if to:
        conditions.append(ConsoleDelivery.to_address == to)
    total = int(
        await session.scalar(select(func.count()).select_from(ConsoleDelivery).where(*conditions)) or 0
    )
    rows = await session.scalars(
        select(ConsoleDelivery)
        .where(*conditions)
        .order_by(ConsoleDelivery.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return rows.all(), total
