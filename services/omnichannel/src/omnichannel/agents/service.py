"""Presence, capacity and round-robin assignment: the least recently assigned online agent with room."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.statuses import ACTIVE_CONVERSATION_STATUSES
from aintech_shared.errors import UnprocessableEntity
from omnichannel.agents import repository
from omnichannel.agents.models import Agent
from omnichannel.contacts import service as contacts
from omnichannel.conversations import service as conversations
from omnichannel.conversations.models import Conversation
from omnichannel.core.base import utcnow
from omnichannel.settings import Settings

log = structlog.get_logger("omnichannel.assignment")

QUEUE_SWEEP = 100
# A conversation no agent with its skills took within this wait goes to any agent with room:
# OMNICHANNEL_ROUTING_WIDEN_AFTER_SECONDS, applied by ``configure_routing`` when the API or the
# worker starts (both assign); until then the setting's default.
_widen_after = timedelta(seconds=Settings.model_fields["routing_widen_after_seconds"].default)


def configure_routing(settings: Settings) -> None:
    """Take the widening wait from the settings (the app and the worker call this at start)."""
    global _widen_after
    _widen_after = timedelta(seconds=settings.routing_widen_after_seconds)


def widen_after() -> timedelta:
    """How long a conversation waits for a skilled agent before any agent with room may take it."""
    return _widen_after


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


async def apply_skills(
    session: AsyncSession, *, user_id: uuid.UUID, skills: dict[str, int], changed_at: datetime, capacity: int
) -> Agent:
    """Telephony's ``agent.skills_changed``: the whole set, applied unless an older change arrives late."""
    agent = await repository.get(session, user_id)
    if agent is None:
        agent = Agent(user_id=user_id, display_name="", status="offline", capacity=capacity)
        await repository.add(session, agent)
    if agent.skills_changed_at is not None and agent.skills_changed_at >= changed_at:
        return agent
    agent.skills = dict(skills)
    agent.skills_changed_at = changed_at
    await session.flush()
    return agent


def has_skills(agent_skills: dict[str, int], required: list[str]) -> bool:
    """An agent with no skills recorded takes anything; otherwise every required skill at level 1+."""
    return not agent_skills or all(agent_skills.get(skill, 0) >= 1 for skill in required)


async def required_skills(session: AsyncSession, *, conversation: Conversation) -> list[str]:
    """The conversation's topic (claims, renewals, sales) and the customer's language, when known."""
    required = [conversation.topic] if conversation.topic else []
    if conversation.customer_id is not None:
        contact = await contacts.get(session, customer_id=conversation.customer_id)
        language = (contact.preferred_language or "es")[:2] if contact is not None else None
        if language in ("es", "en"):
            required.append(language)
    return required


def _widened(conversation: Conversation, now: datetime) -> bool:
    waiting_since = conversation.last_inbound_at or conversation.created_at
    return waiting_since is not None and now - waiting_since >= _widen_after


async def auto_assign(
    session: AsyncSession, *, conversation: Conversation, now: datetime | None = None
) -> uuid.UUID | None:
    """Give an unassigned active conversation to the next online agent with room who has its skills
    (any agent with room once it waited ``widen_after()``), if any."""
    if conversation.assignee_id is not None or conversation.status not in ACTIVE_CONVERSATION_STATUSES:
        return conversation.assignee_id
    await repository.lock_assignment(session)
    required = await required_skills(session, conversation=conversation)
    agent = await _next_agent(session, required=required, widened=_widened(conversation, now or utcnow()))
    if agent is None:
        return None
    await repository.mark_assigned(session, agent)
    await conversations.set_assignee(session, conversation=conversation, agent_id=agent.user_id)
    log.info("conversation_assigned", conversation_id=str(conversation.id), agent_id=str(agent.user_id))
    return agent.user_id


async def assign_queued(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Hand waiting conversations, oldest first, to skilled agents with room; returns how many."""
    await repository.lock_assignment(session)
    now = now or utcnow()
    assigned = 0
    waiting: Sequence[Conversation] = await conversations.queued(session, limit=QUEUE_SWEEP)
    for conversation in waiting:
        required = await required_skills(session, conversation=conversation)
        agent = await _next_agent(session, required=required, widened=_widened(conversation, now))
        if agent is None:
            continue  # nobody with these skills has room: the next conversation may need others
        await repository.mark_assigned(session, agent)
        await conversations.set_assignee(session, conversation=conversation, agent_id=agent.user_id)
        assigned += 1
    return assigned


async def _next_agent(session: AsyncSession, *, required: list[str], widened: bool) -> Agent | None:
    """Round robin: the online agent assigned longest ago among those under capacity who hold the
    required skills; once ``widened``, any of them."""
    counts = await conversations.active_counts(session)
    for agent in await repository.online(session):
        if counts.get(agent.user_id, 0) < agent.capacity and (widened or has_skills(agent.skills, required)):
            if widened and not has_skills(agent.skills, required):
                log.info("conversation_routing_widened", agent_id=str(agent.user_id), required=required)
            return agent
    return None
