"""Queries on interactions (the customer timeline)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.pagination import newest_first
from core_crm.interactions.models import Interaction


async def get(session: AsyncSession, interaction_id: uuid.UUID) -> Interaction | None:
    return await session.get(Interaction, interaction_id)


async def add(session: AsyncSession, interaction: Interaction) -> None:
    session.add(interaction)
    await session.flush()


async def by_external(session: AsyncSession, *, source: str, external_id: str) -> Interaction | None:
    return (
        await session.scalars(
            select(Interaction).where(Interaction.source == source, Interaction.external_id == external_id)
        )
    ).first()


async def search(
    session: AsyncSession,
    *,
    customer_id: uuid.UUID | None,
    types: Sequence[str] | None,
    agent_id: uuid.UUID | None,
    since: datetime | None,
    until: datetime | None,
    after: list[Any] | None,
    limit: int,
    text_query: str | None = None,
) -> tuple[Sequence[Interaction], list[Any] | None]:
    """Newest first (by when it happened); ``text_query`` in the subject, description or a call's
    transcript (case-insensitive, literal)."""
    conditions: list[ColumnElement[bool]] = []
    if text_query:
        pattern = "%" + text_query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(
            or_(
                Interaction.subject.ilike(pattern, escape="\\"),
                Interaction.description.ilike(pattern, escape="\\"),
                Interaction.attributes["transcript"].astext.ilike(pattern, escape="\\"),
            )
        )
    if customer_id is not None:
        conditions.append(Interaction.customer_id == customer_id)
    if types:
        conditions.append(Interaction.type.in_(types))
    if agent_id is not None:
        conditions.append(Interaction.agent_id == agent_id)
    if since is not None:
        conditions.append(Interaction.occurred_at >= since)
    if until is not None:
        conditions.append(Interaction.occurred_at < until)
    return await newest_first(
        session,
        Interaction,
        at=Interaction.occurred_at,
        id_=Interaction.id,
        conditions=conditions,
        after=after,
        limit=limit,
    )


async def for_customer(session: AsyncSession, customer_id: uuid.UUID) -> Sequence[Interaction]:
    rows = await session.scalars(
        select(Interaction).where(Interaction.customer_id == customer_id).order_by(Interaction.occurred_at)
    )
    return rows.all()
