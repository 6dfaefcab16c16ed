"""Queries on what the console providers recorded."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.pagination import keyset_page
from omnichannel.providers.models import ConsoleDelivery


async def deliveries(
    session: AsyncSession, *, channel: str | None, to: str | None, after: list[Any] | None, limit: int
) -> tuple[list[ConsoleDelivery], list[Any] | None]:
    """What the console providers recorded, newest first (keyset: id)."""
    conditions = []
    if channel:
        conditions.append(ConsoleDelivery.channel == channel)
    if to:
        conditions.append(ConsoleDelivery.to_address == to)
    return await keyset_page(
        session,
        select(ConsoleDelivery).where(*conditions),
        keys=(ConsoleDelivery.id,),
        after=after,
        limit=limit,
    )
