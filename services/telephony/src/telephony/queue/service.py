"""The call queue: who waits, in what order, and which agent gets the next caller.

Order: priority first (urgent > high > normal > low), then the longest waiting. Assignment locks
the caller's queue row and the agent's status row with ``FOR UPDATE SKIP LOCKED``, so two
replicas (or two runs of the job) never hand one caller to two agents nor one agent two callers.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.statuses import AgentState
from aintech_shared.errors import Conflict
from telephony.agents import service as agents
from telephony.agents.models import AgentStatus
from telephony.calls import events
from telephony.calls import repository as calls_repo
from telephony.calls.models import Call, QueueEntry
from telephony.core.base import utcnow
from telephony.core.runtime import Runtime

DEPARTMENT_PRIORITY = {"claims": 3, "renewals": 2, "sales": 2, "other": 1}


@dataclass(frozen=True)
class RoutingFacts:
    """What the local read model says about a caller."""

    open_claims: int
    vip: bool
    last_agent_id: uuid.UUID | None


def priority_for(department: str, facts: RoutingFacts) -> int:
    """Department sets the base; an open claim or a VIP segment raises it a level each (max urgent)."""
    level = DEPARTMENT_PRIORITY.get(department, 1)
    if facts.open_claims:
        level += 1
    if facts.vip:
        level += 1
    return min(level, 4)


async def enqueue(
    session: AsyncSession, *, rt: Runtime, call: Call, department: str, facts: RoutingFacts
) -> tuple[QueueEntry, int]:
    """The caller waits for an agent (once: the IVR answers a replay from the call's department);
    returns the queue row and their position."""
    assert call.call_sid is not None
    level = priority_for(department, facts)
    entry = await calls_repo.add_entry(
        session,
        QueueEntry(
            call_id=call.id,
            call_sid=call.call_sid,
            customer_phone=call.customer_phone,
            customer_id=call.customer_id,
            department=department,
            priority=level,
            base_priority=level,
            preferred_agent_id=facts.last_agent_id,
            state="waiting",
            enqueued_at=utcnow(),
        ),
    )
    position = await calls_repo.position(session, entry)
    await rt.outbox.publish(session, events.queue_added(entry, position=position), key=str(call.id))
    return entry, position


async def position(session: AsyncSession, *, call_id: uuid.UUID) -> int | None:
    """1-based place among waiting callers, or None when the caller is not waiting."""
    entry = await calls_repo.queue_entry(session, call_id)
    if entry is None or entry.state != "waiting":
        return None
    return await calls_repo.position(session, entry)


async def _assign(
    session: AsyncSession, *, rt: Runtime, entry: QueueEntry, agent_row: AgentStatus, preferred: bool
) -> QueueEntry:
    now = utcnow()
    call = await calls_repo.get(session, entry.call_id, lock=True)
    assert call is not None
    entry.state, entry.assigned_to, entry.assigned_at = "assigned", agent_row.agent_id, now
    entry.attempts += 1
    call.agent_id = agent_row.agent_id
    await session.flush()
    await agents.mark_busy(session, rt=rt, row=agent_row, call_id=call.id, reason="queue assignment")
    await rt.outbox.publish(
        session, events.queue_assigned(entry, preferred=preferred, now=now), key=str(call.id)
    )
    return entry


async def assign_next(session: AsyncSession, *, rt: Runtime) -> QueueEntry | None:
    """Give the first waiting caller to their last agent when free, else the longest-idle agent."""
    entry = await calls_repo.claim_next_waiting(session)
    if entry is None:
        return None
    agent_row, preferred = await agents.claim_available(session, prefer=entry.preferred_agent_id)
    if agent_row is None:
        return None
    return await _assign(session, rt=rt, entry=entry, agent_row=agent_row, preferred=preferred)


async def assign_waiting(session: AsyncSession, *, rt: Runtime, limit: int = 100) -> int:
    """Assign callers while both callers and agents are free; returns how many were assigned."""
    done = 0
    while done < limit and await assign_next(session, rt=rt) is not None:
        done += 1
    return done


async def escalate(session: AsyncSession, *, rt: Runtime) -> Sequence[QueueEntry]:
    """Raise by one level the callers that have waited longer than the escalation period."""
    now = utcnow()
    older = now - timedelta(seconds=rt.settings.queue_escalate_after_seconds)
    return await calls_repo.escalate(session, older_than=older, now=now)


async def requeue_unanswered(session: AsyncSession, *, rt: Runtime) -> int:
    """Callers whose agent did not pick up in time go back to the queue; the agent goes away."""
    now = utcnow()
    stale = await calls_repo.unanswered_assignments(
        session, assigned_before=now - timedelta(seconds=rt.settings.ring_timeout_seconds)
    )
    for entry in stale:
        call = await calls_repo.get(session, entry.call_id, lock=True)
        agent_id = entry.assigned_to
        entry.state, entry.assigned_to, entry.assigned_at = "waiting", None, None
        if call is not None:
            call.agent_id = None
        await session.flush()
        if agent_id is not None and call is not None:
            await agents.release(
                session,
                rt=rt,
                agent_id=agent_id,
                call_id=call.id,
                status=AgentState.away,
                reason="missed a call",
            )
    return len(stale)


async def waiting(session: AsyncSession, *, limit: int) -> Sequence[QueueEntry]:
    """Waiting callers in the order they will be served."""
    return await calls_repo.waiting(session, limit=limit)


async def waiting_count(session: AsyncSession) -> int:
    """How many callers wait."""
    return await calls_repo.waiting_count(session)


async def assign_one_now(session: AsyncSession, *, rt: Runtime) -> QueueEntry:
    """The supervisor's "assign next" button: 409 when nobody waits or nobody is free."""
    if await calls_repo.waiting_count(session) == 0:
        raise Conflict("Nobody is waiting in the queue.")
    entry = await assign_next(session, rt=rt)
    if entry is None:
        raise Conflict("No agent is available (or every waiting caller is being assigned elsewhere).")
    return entry
