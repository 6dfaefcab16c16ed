"""Presence, capacity and round-robin assignment: the least recently assigned online agent with room."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.statuses import ACTIVE_CONVERSATION_STATUSES
from aintech_shared.errors import UnprocessableEntity
from omnichannel.agents import repository
from omnichannel.agents.models import Agent
from omnichannel.conversations import service as conversations
from omnichannel.conversations.models import Conversation
from omnichannel.core.base import utcnow

log = structlog.get_logger("omnichannel.assignment")

QUEUE_SWEEP = 100


async def set_presence(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    display_name: str,
    status: str,
    capacity: int | None,
    default_capacity: int,
) -> Agent:
    """Go online/away/offline (creating the agent record on first use); online takes queued work."""
    agent = await repository.get(session, user_id)
    if agent is None:
        agent = Agent(
            user_id=user_id,
            display_name=display_name[:200],
            status=status,
            capacity=capacity or default_capacity,
        )
        await repository.add(session, agent)
    else:
        agent.status = status
        if capacity is not None:
            agent.capacity = capacity
        if display_name:
            agent.display_name = display_name[:200]
    agent.updated_at = utcnow()
    await session.flush()
    if status == "online":
        await assign_queued(session)
    return agent


async def set_capacity(session: AsyncSession, *, user_id: uuid.UUID, capacity: int) -> Agent:
    agent = await repository.get(session, user_id)
    if agent is None:
        raise UnprocessableEntity("This user has never signed in to the inbox as an agent.")
    agent.capacity = capacity
    await session.flush()
    await assign_queued(session)
    return agent


async def require(session: AsyncSession, *, user_id: uuid.UUID) -> Agent:
    agent = await repository.get(session, user_id)
    if agent is None:
        raise UnprocessableEntity(
            "Unknown agent: they must set their presence once before taking conversations.",
            errors=[
                {"location": "body", "field": "agent_id", "message": "unknown agent", "type": "value_error"}
            ],
        )
    return agent


async def listing(session: AsyncSession) -> list[tuple[Agent, int]]:
    agents = await repository.all_agents(session)
    counts = await conversations.active_counts(session)
    return [(a, counts.get(a.user_id, 0)) for a in agents]


async def auto_assign(session: AsyncSession, *, conversation: Conversation) -> uuid.UUID | None:
    """Give an unassigned active conversation to the next online agent with room, if any."""
    if conversation.assignee_id is not None or conversation.status not in ACTIVE_CONVERSATION_STATUSES:
        return conversation.assignee_id
    await repository.lock_assignment(session)
    agent = await _next_agent(session)
    if agent is None:
        return None
    await repository.mark_assigned(session, agent)
    await conversations.set_assignee(session, conversation=conversation, agent_id=agent.user_id)
    log.info("conversation_assigned", conversation_id=str(conversation.id), agent_id=str(agent.user_id))
    return agent.user_id


async def assign_queued(session: AsyncSession) -> int:
    """Hand waiting conversations, oldest first, to agents with room; returns how many."""
    await repository.lock_assignment(session)
    assigned = 0
    waiting: Sequence[Conversation] = await conversations.queued(session, limit=QUEUE_SWEEP)
    for conversation in waiting:
        agent = await _next_agent(session)
        if agent is None:
            break
        await repository.mark_assigned(session, agent)
        await conversations.set_assignee(session, conversation=conversation, agent_id=agent.user_id)
        assigned += 1
    return assigned


async def _next_agent(session: AsyncSession) -> Agent | None:
    """Round robin: the online agent assigned longest ago among those under capacity."""
    counts = await conversations.active_counts(session)
    for agent in await repository.online(session):
        if counts.get(agent.user_id, 0) < agent.capacity:
            return agent
    return None
