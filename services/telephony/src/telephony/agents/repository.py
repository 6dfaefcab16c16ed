"""Every query on agent_status and agent_status_changes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import extract, func, insert, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.statuses import AgentState
from telephony.agents.models import AgentStatus, AgentStatusChange


async def get(session: AsyncSession, agent_id: uuid.UUID, *, lock: bool = False) -> AgentStatus | None:
    query = select(AgentStatus).where(AgentStatus.agent_id == agent_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def create(session: AsyncSession, agent_id: uuid.UUID) -> AgentStatus:
    """The agent's row, created offline the first time they are seen (concurrency-safe)."""
    await session.execute(
        pg_insert(AgentStatus)
        .values(agent_id=agent_id, status=AgentState.offline, capabilities={})
        .on_conflict_do_nothing(index_elements=["agent_id"])
    )
    row = await get(session, agent_id, lock=True)
    assert row is not None
    return row


async def record_change(
    session: AsyncSession, *, agent_id: uuid.UUID, status: str, reason: str | None, at: datetime
) -> None:
    await session.execute(
        insert(AgentStatusChange).values(agent_id=agent_id, status=status, reason=reason, changed_at=at)
    )


async def available(session: AsyncSession, *, limit: int = 200) -> Sequence[AgentStatus]:
    """Available agents, the longest idle first."""
    rows = await session.execute(
        select(AgentStatus)
        .where(AgentStatus.status == AgentState.available)
        .order_by(AgentStatus.last_status_change, AgentStatus.agent_id)
        .limit(limit)
    )
    return rows.scalars().all()


async def all_agents(session: AsyncSession, *, limit: int = 500) -> Sequence[AgentStatus]:
    rows = await session.execute(select(AgentStatus).order_by(AgentStatus.agent_id).limit(limit))
    return rows.scalars().all()


async def claim_available(
    session: AsyncSession, *, prefer: uuid.UUID | None = None
) -> tuple[AgentStatus | None, bool]:
    """Lock an available agent no other transaction holds: ``prefer`` when free, else the longest
    idle one. Returns (agent, whether it is the preferred one)."""
    if prefer is not None:
        preferred = (
            await session.execute(
                select(AgentStatus)
                .where(AgentStatus.agent_id == prefer, AgentStatus.status == AgentState.available)
                .with_for_update(skip_locked=True)
            )
        ).scalar_one_or_none()
        if preferred is not None:
            return preferred, True
    agent = (
        await session.execute(
            select(AgentStatus)
            .where(AgentStatus.status == AgentState.available)
            .order_by(AgentStatus.last_status_change, AgentStatus.agent_id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
    ).scalar_one_or_none()
    return agent, False


async def seconds_by_status(
    session: AsyncSession, *, agent_id: uuid.UUID, since: datetime, until: datetime
) -> dict[str, float]:
    """Seconds the agent spent in each status between ``since`` and ``until``."""
    changes = (
        select(
            AgentStatusChange.status,
            AgentStatusChange.changed_at.label("start"),
            func.lead(AgentStatusChange.changed_at, 1, literal(until))
            .over(order_by=(AgentStatusChange.changed_at, AgentStatusChange.id))
            .label("stop"),
        )
        .where(AgentStatusChange.agent_id == agent_id, AgentStatusChange.changed_at < until)
        .subquery()
    )
    seconds = func.sum(
        extract(
            "epoch",
            func.least(changes.c.stop, literal(until)) - func.greatest(changes.c.start, literal(since)),
        )
    )
    rows = await session.execute(
        select(changes.c.status, seconds).where(changes.c.stop > since).group_by(changes.c.status)
    )
    return {status: float(total or 0) for status, total in rows.all()}


async def available_for_routing(
    session: AsyncSession, *, limit: int = 1000
) -> list[tuple[uuid.UUID, dict[str, int]]]:
    """Available agents (id and skills), the longest idle first, read without a lock."""
    rows = await session.execute(
        select(AgentStatus.agent_id, AgentStatus.skills)
        .where(AgentStatus.status == AgentState.available)
        .order_by(AgentStatus.last_status_change, AgentStatus.agent_id)
        .limit(limit)
    )
    return [(r[0], dict(r[1] or {})) for r in rows.all()]
