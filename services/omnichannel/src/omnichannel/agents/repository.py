"""Queries on agents."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from omnichannel.agents.models import Agent

# One assignment decision at a time across every replica: reads after taking it see every
# committed assignment, so no agent ever goes over capacity.
_ASSIGNMENT_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('omnichannel.assignment'))")


async def lock_assignment(session: AsyncSession) -> None:
    await session.execute(_ASSIGNMENT_LOCK)


async def get(session: AsyncSession, user_id: uuid.UUID) -> Agent | None:
    return await session.get(Agent, user_id)


async def add(session: AsyncSession, agent: Agent) -> None:
    session.add(agent)
    await session.flush()


async def online(session: AsyncSession) -> Sequence[Agent]:
    query = (
        select(Agent)
        .where(Agent.status == "online")
        .order_by(Agent.last_assigned_at.asc().nulls_first(), Agent.user_id)
    )
    return (await session.scalars(query)).all()


async def all_agents(session: AsyncSession) -> Sequence[Agent]:
    return (await session.scalars(select(Agent).order_by(Agent.display_name, Agent.user_id))).all()


async def mark_assigned(session: AsyncSession, agent: Agent) -> None:
    agent.last_assigned_at = await session.scalar(select(func.clock_timestamp()))
    await session.flush()
