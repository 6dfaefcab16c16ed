"""The call queue: who waits, in what order, and which agent gets the next caller.

Order: priority first (urgent > high > normal > low), then the longest waiting. Assignment locks
the caller's queue row and the agent's status row with ``FOR UPDATE SKIP LOCKED``, so two
replicas (or two runs of the job) never hand one caller to two agents nor one agent two callers.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.statuses import AgentState
from aintech_shared.errors import Conflict
from telephony.agents import events as agent_events
from telephony.agents import service as agents
from telephony.calls import events
from telephony.calls import repository as calls_repo
from telephony.calls.models import Call, QueueEntry
from telephony.core.base import utcnow
from telephony.core.runtime import Runtime

DEPARTMENT_PRIORITY = {"claims": 3, "renewals": 2, "sales": 2, "other": 1}
SKILLED_DEPARTMENTS = ("claims", "sales", "renewals")
LANGUAGES = ("es", "en")
QUEUE_ASSIGNMENT = "queue assignment"  # the agent's status reason while the assigned caller rings

WAITING = Gauge("telephony_queue_waiting", "Callers waiting, by required skill", ["skill"])
LONGEST_WAIT = Gauge(
    "telephony_queue_longest_wait_seconds", "The longest current wait, by required skill", ["skill"]
)
SERVICE_LEVEL = Gauge(
    "telephony_queue_service_level",
    "Share of callers answered within the service-level threshold (last 24 h), by required skill",
    ["skill"],
)
WIDENED = Counter(
    "telephony_queue_widened_total", "Callers given to an agent without the required skills after the wait"
)


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


def required_skills(department: str, language: str) -> list[str]:
    """What a caller's call requires: their department (unless "other") and their language."""
    skills = [department] if department in SKILLED_DEPARTMENTS else []
    return [*skills, language if language in LANGUAGES else "es"]


async def enqueue(
    session: AsyncSession,
    *,
    rt: Runtime,
    call: Call,
    department: str,
    facts: RoutingFacts,
    language: str = "es",
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
            required_skills=required_skills(department, language),
            language=language if language in LANGUAGES else "es",
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


def has_skills(agent_skills: dict[str, int], required: tuple[str, ...] | list[str]) -> bool:
    """An agent with no skills recorded takes any call; otherwise every required skill at level 1+."""
    if not agent_skills:
        return True
    return all(agent_skills.get(skill, 0) >= 1 for skill in required)


@dataclass(frozen=True)
class Match:
    entry_id: uuid.UUID
    agent_id: uuid.UUID
    preferred: bool
    widened: bool


def pick(
    heads: list[calls_repo.WaitingHead],
    agents_free: list[tuple[uuid.UUID, dict[str, int]]],
    *,
    now: datetime,
    widen_after: timedelta,
) -> Match | None:
    """The first caller in serving order that some free agent can take, and that agent: their last
    agent when free and skilled, else the longest idle skilled one; after ``widen_after`` any agent.

    The routing rule, stated over values: ``assign_next`` applies it in one SQL statement
    (``calls.repository.pick_and_lock``), and the tests check that both choose alike."""
    if not agents_free:
        return None
    skilled_for: dict[tuple[str, ...], list[tuple[uuid.UUID, dict[str, int]]]] = {}  # few distinct sets
    for head in heads:
        widened = now - head.enqueued_at >= widen_after
        skilled = skilled_for.get(head.required_skills)
        if skilled is None:
            skilled = [a for a in agents_free if has_skills(a[1], head.required_skills)]
            skilled_for[head.required_skills] = skilled
        if head.preferred_agent_id is not None:
            for agent_id, _ in skilled:
                if agent_id == head.preferred_agent_id:
                    return Match(head.id, agent_id, preferred=True, widened=False)
        if skilled:
            return Match(head.id, skilled[0][0], preferred=False, widened=False)
        if widened:
            return Match(head.id, agents_free[0][0], preferred=False, widened=True)
    return None


async def assign_next(
    session: AsyncSession, *, rt: Runtime, now: datetime | None = None
) -> QueueEntry | None:
    """Give the first waiting caller a free agent can take to that agent (the rule of ``pick``).

    One statement picks the caller and the agent, locks both (``SKIP LOCKED``: rows another
    assigner holds are passed over) and writes the queue row, the call's agent and routing history
    (with "widened" when the wait widened it), the agent's status and its history; then the two
    events. Two replicas never give one caller to two agents nor two callers to one agent.
    """
    now = now or utcnow()
    await session.flush()  # this session's pending changes first: the statement re-reads its rows
    widen_seconds = rt.settings.queue_widen_after_seconds
    done = await calls_repo.assign_next(
        session,
        now=now,
        widen_before=now - timedelta(seconds=widen_seconds),
        widen_seconds=widen_seconds,
        changed_at=utcnow(),
        reason=QUEUE_ASSIGNMENT,
    )
    if done is None:
        return None
    await rt.outbox.publish_many(
        session,
        [
            (
                agent_events.status_changed(done.agent, previous=AgentState.available),
                str(done.agent.agent_id),
            ),
            (
                events.queue_assigned(done.entry, preferred=done.preferred, widened=done.widened, now=now),
                str(done.call.id),
            ),
        ],
    )
    if done.widened:
        WIDENED.inc()
    return done.entry


async def assign_waiting(
    session: AsyncSession, *, rt: Runtime, limit: int = 100, now: datetime | None = None
) -> int:
    """Assign callers while both callers and agents are free; returns how many were assigned."""
    done = 0
    while done < limit and await assign_next(session, rt=rt, now=now) is not None:
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


@dataclass(frozen=True)
class SkillMetrics:
    skill: str
    waiting: int
    longest_wait_seconds: float
    offered: int
    answered_within_threshold: int

    @property
    def service_level(self) -> float | None:
        """Answered within the threshold / callers whose outcome against it is known (None: none yet)."""
        return round(self.answered_within_threshold / self.offered, 4) if self.offered else None


async def metrics_by_skill(
    session: AsyncSession, *, rt: Runtime, since: datetime | None = None, now: datetime | None = None
) -> list[SkillMetrics]:
    """Per skill (department or language): waiting callers, the longest current wait, and the
    service level since ``since`` (default the last 24 h); also sets the Prometheus gauges."""
    now = now or utcnow()
    since = since or now - timedelta(hours=24)
    figures = {
        f.skill: f
        for f in await calls_repo.figures_by_skill(
            session, since=since, now=now, service_level_seconds=rt.settings.service_level_seconds
        )
    }
    out: list[SkillMetrics] = []
    for skill in (*SKILLED_DEPARTMENTS, *LANGUAGES):
        f = figures.get(skill)
        metrics = SkillMetrics(
            skill=skill,
            waiting=f.waiting if f else 0,
            longest_wait_seconds=round(f.longest_wait_seconds, 1) if f else 0.0,
            offered=f.offered if f else 0,
            answered_within_threshold=f.answered_in_time if f else 0,
        )
        WAITING.labels(skill).set(metrics.waiting)
        LONGEST_WAIT.labels(skill).set(metrics.longest_wait_seconds)
        if metrics.service_level is not None:
            SERVICE_LEVEL.labels(skill).set(metrics.service_level)
        out.append(metrics)
    return out
