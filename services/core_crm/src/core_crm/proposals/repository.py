"""Queries on policy proposals."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.pagination import newest_first
from core_crm.proposals.models import PolicyProposal


async def get(
    session: AsyncSession, proposal_id: uuid.UUID, *, for_update: bool = False
) -> PolicyProposal | None:
    query = select(PolicyProposal).where(PolicyProposal.id == proposal_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def add_once(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert the proposal unless one exists for its event; whether it was inserted."""
    result = await session.execute(
        insert(PolicyProposal)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[PolicyProposal.event_id])
        .returning(PolicyProposal.id)
    )
    return result.first() is not None


async def latest_for(
    session: AsyncSession, *, carrier: str, policy_number: str, source: str
) -> PolicyProposal | None:
    """The newest proposal from ``source`` about a carrier's policy number."""
    query = (
        select(PolicyProposal)
        .where(
            PolicyProposal.carrier == carrier,
            PolicyProposal.policy_number == policy_number,
            PolicyProposal.source == source,
        )
        .order_by(PolicyProposal.created_at.desc(), PolicyProposal.id.desc())
        .limit(1)
    )
    return (await session.scalars(query)).first()


async def flush(session: AsyncSession) -> None:
    await session.flush()


async def search(
    session: AsyncSession,
    *,
    statuses: Sequence[str] | None,
    kind: str | None,
    after: list[Any] | None,
    limit: int,
) -> tuple[Sequence[PolicyProposal], list[Any] | None]:
    conditions: list[ColumnElement[bool]] = []
    if statuses:
        conditions.append(PolicyProposal.status.in_(statuses))
    if kind:
        conditions.append(PolicyProposal.kind == kind)
    return await newest_first(
        session,
        PolicyProposal,
        at=PolicyProposal.created_at,
        id_=PolicyProposal.id,
        conditions=conditions,
        after=after,
        limit=limit,
    )
