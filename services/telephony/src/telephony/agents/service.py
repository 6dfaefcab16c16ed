"""Agent status rules: busy is the calls' business; agents switch between the other states."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.statuses import AgentState
from aintech_shared.errors import Conflict, Forbidden
from telephony.agents import events, repository
from telephony.agents.models import AgentStatus
from telephony.core.base import utcnow
from telephony.core.runtime import Runtime

MANUAL_STATES = (AgentState.available, AgentState.away, AgentState.offline)


async def _change(
    session: AsyncSession,
    *,
    rt: Runtime,
    row: AgentStatus,
    status: str,
    reason: str | None,
    call_id: uuid.UUID | None,
) -> AgentStatus:
    previous = row.status
    if previous == status and row.current_call_id == call_id and row.reason == reason:
        return row
    now = utcnow()
    row.status = status
    row.reason = reason
    row.current_call_id = call_id
    row.last_status_change = now
    await session.flush()
    await repository.record_change(session, agent_id=row.agent_id, status=status, reason=reason, at=now)
    await rt.outbox.publish(session, events.status_changed(row, previous=previous), key=str(row.agent_id))
    return row


async def set_status(
    session: AsyncSession, *, rt: Runtime, agent_id: uuid.UUID, status: str, reason: str | None
) -> AgentStatus:
    """An agent (or a supervisor for them) switches to available, away or offline."""
    row = await repository.create(session, agent_id)
    if row.withdrawn and status != AgentState.offline:
        raise Forbidden("This account may no longer take calls.")
    if row.status == AgentState.busy and row.current_call_id is not None:
        raise Conflict(
            "The agent is on a call; end or transfer it before changing status.",
            current_call_id=str(row.current_call_id),
        )
    return await _change(session, rt=rt, row=row, status=status, reason=reason, call_id=None)


async def set_skills(
    session: AsyncSession, *, rt: Runtime, agent_id: uuid.UUID, skills: dict[str, int], by: uuid.UUID | None
) -> AgentStatus:
    """A supervisor sets the agent's skills (the whole set); ``agent.skills_changed`` tells omnichannel."""
    row = await repository.create(session, agent_id)
    row.skills = {skill: int(level) for skill, level in sorted(skills.items())}
    await session.flush()
    await rt.outbox.publish(session, events.skills_changed(row, by=by), key=str(row.agent_id))
    return row


async def mark_busy(
    session: AsyncSession, *, rt: Runtime, row: AgentStatus, call_id: uuid.UUID, reason: str
) -> AgentStatus:
    """The agent takes ``call_id`` (the row must be locked by the caller)."""
    return await _change(session, rt=rt, row=row, status=AgentState.busy, reason=reason, call_id=call_id)


async def release(
    session: AsyncSession,
    *,
    rt: Runtime,
    agent_id: uuid.UUID,
    call_id: uuid.UUID,
    status: str = AgentState.available,
    reason: str | None = None,
) -> AgentStatus | None:
    """The agent is done with ``call_id``; nothing changes if they have since moved to another call.

    An agent withdrawn while on the call (account disabled, role changed) goes offline instead.
    """
    row = await repository.get(session, agent_id, lock=True)
    if row is None or row.current_call_id != call_id:
        return row
    if row.withdrawn:
        status, reason = AgentState.offline, _withdrawn_reason(row)
    return await _change(session, rt=rt, row=row, status=status, reason=reason, call_id=None)


def _withdrawn_reason(row: AgentStatus) -> str:
    return "account disabled" if row.disabled_at is not None else "role no longer handles calls"


async def account_changed(
    session: AsyncSession,
    *,
    rt: Runtime,
    agent_id: uuid.UUID,
    disabled: bool | None = None,
    handles_calls: bool | None = None,
) -> AgentStatus | None:
    """The agent's account was disabled or enabled, or their role changed (authenticator's events).

    An agent who may no longer take calls goes offline at once, and so leaves the assignment pool;
    a call in progress is not cut: they go offline when it ends. Being enabled again (or given back
    a role that handles calls) lifts that, and the agent stays offline until they choose otherwise.
    Users telephony never saw as agents are left alone (their sessions end with the change).
    """
    row = await repository.get(session, agent_id, lock=True)
    if row is None:
        return None
    now = utcnow()
    if disabled is not None:
        row.disabled_at = (row.disabled_at or now) if disabled else None
    if handles_calls is not None:
        row.role_withdrawn_at = None if handles_calls else (row.role_withdrawn_at or now)
    await session.flush()
    if row.withdrawn and row.current_call_id is None and row.status != AgentState.offline:
        await _change(
            session, rt=rt, row=row, status=AgentState.offline, reason=_withdrawn_reason(row), call_id=None
        )
    return row


async def lock_for_call(session: AsyncSession, *, agent_id: uuid.UUID) -> AgentStatus:
    """The agent's row, locked, for a call operation (created offline if never seen)."""
    return await repository.create(session, agent_id)


async def claim_available(
    session: AsyncSession, *, prefer: uuid.UUID | None
) -> tuple[AgentStatus | None, bool]:
    """Lock a free agent (``prefer`` when available) no other transaction is assigning."""
    return await repository.claim_available(session, prefer=prefer)


async def available_for_routing(session: AsyncSession) -> list[tuple[uuid.UUID, dict[str, int]]]:
    """Available agents and their skills, the longest idle first (read without a lock: ``pick``'s input)."""
    return await repository.available_for_routing(session)


async def available(session: AsyncSession) -> Sequence[AgentStatus]:
    """Available agents, the longest idle first."""
    return await repository.available(session)


async def everyone(session: AsyncSession) -> Sequence[AgentStatus]:
    """Every agent's current status."""
    return await repository.all_agents(session)


async def get(session: AsyncSession, *, agent_id: uuid.UUID) -> AgentStatus | None:
    """The agent's current status row, if they were ever seen."""
    return await repository.get(session, agent_id)


@dataclass(frozen=True)
class Availability:
    since: datetime
    until: datetime
    seconds: dict[str, float]

    @property
    def signed_in(self) -> float:
        return sum(v for k, v in self.seconds.items() if k != AgentState.offline)

    @property
    def percent(self) -> float | None:
        """Share of signed-in time spent ready for or on calls (available + busy)."""
        if self.signed_in <= 0:
            return None
        ready = self.seconds.get(AgentState.available, 0.0) + self.seconds.get(AgentState.busy, 0.0)
        return round(100.0 * ready / self.signed_in, 1)


async def availability(
    session: AsyncSession, *, agent_id: uuid.UUID, since: datetime | None, until: datetime | None
) -> Availability:
    """Time in each status over the window (default: the last 24 hours)."""
    until = until or utcnow()
    since = since or until - timedelta(hours=24)
    seconds = await repository.seconds_by_status(session, agent_id=agent_id, since=since, until=until)
    return Availability(since=since, until=until, seconds=seconds)
