"""Every query on calls, the queue and webhook receipts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, and_, column, delete, func, or_, select, text, tuple_, update
from sqlalchemy import true as sa_true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.pagination import newest_first
from telephony.agents.models import AgentStatus
from telephony.calls.models import TERMINAL, Call, QueueEntry, WebhookReceipt


async def get(session: AsyncSession, call_id: uuid.UUID, *, lock: bool = False) -> Call | None:
    query = select(Call).where(Call.id == call_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def by_sid(session: AsyncSession, call_sid: str, *, lock: bool = False) -> Call | None:
    query = select(Call).where(Call.call_sid == call_sid)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def by_agent_leg(session: AsyncSession, call_sid: str, *, lock: bool = False) -> Call | None:
    """The call an agent's softphone leg belongs to (as its agent, or as a warm-transfer target)."""
    query = (
        select(Call)
        .where(or_(Call.agent_call_sid == call_sid, Call.transfer_call_sid == call_sid))
        .order_by(Call.created_at.desc())
        .limit(1)
    )
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def wait_for_creator(session: AsyncSession, call_id: uuid.UUID) -> None:
    """Block until the transaction that created ``call_id`` (and holds its key) has finished.

    An outbound call's row is written, its key locked, and Twilio asked to dial in one transaction;
    a callback Twilio sends before that transaction commits waits here instead of missing the row.
    """
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"telephony.call:{call_id}"))))


async def add_if_new(session: AsyncSession, values: dict[str, Any]) -> Call | None:
    """Insert a call unless its CallSid is known (a concurrent delivery waits for the first to
    commit, then finds the conflict); None when it already existed."""
    stmt = insert(Call).values(id=uuid.uuid4(), **values).on_conflict_do_nothing(index_elements=["call_sid"])
    return (await session.scalars(stmt.returning(Call))).first()


async def add(session: AsyncSession, call: Call) -> Call:
    session.add(call)
    await session.flush()
    return call


@dataclass(frozen=True)
class CallFilters:
    agent_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    status: str | None = None
    direction: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def page(
    session: AsyncSession, *, filters: CallFilters, after: list[Any] | None, limit: int
) -> tuple[list[Call], list[Any] | None]:
    """One page of calls matching the filters, newest first (keyset: created_at, id)."""
    conditions: list[Any] = []
    if filters.agent_id is not None:
        conditions.append(Call.agent_id == filters.agent_id)
    if filters.customer_id is not None:
        conditions.append(Call.customer_id == filters.customer_id)
    if filters.status is not None:
        conditions.append(Call.status == filters.status)
    if filters.direction is not None:
        conditions.append(Call.direction == filters.direction)
    if filters.since is not None:
        conditions.append(Call.created_at >= filters.since)
    if filters.until is not None:
        conditions.append(Call.created_at < filters.until)
    return await newest_first(
        session, Call, at=Call.created_at, id_=Call.id, conditions=conditions, after=after, limit=limit
    )


async def outbound_count_since(session: AsyncSession, *, agent_id: uuid.UUID, since: datetime) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Call)
            .where(Call.agent_id == agent_id, Call.direction == "outbound", Call.created_at >= since)
        )
        or 0
    )


async def last_agent(session: AsyncSession, *, customer_id: uuid.UUID | None, phone: str) -> uuid.UUID | None:
    """The agent who last talked to this customer (by id, or by number when unknown)."""
    who = Call.customer_id == customer_id if customer_id is not None else Call.customer_phone == phone
    return await session.scalar(
        select(Call.agent_id)
        .where(who, Call.agent_id.is_not(None), Call.answered_at.is_not(None))
        .order_by(Call.answered_at.desc())
        .limit(1)
    )


async def claim_receipt(session: AsyncSession, *, kind: str, sid: str, status: str) -> bool:
    """Record a webhook as handled; False when this (kind, sid, status) was handled before."""
    inserted = await session.execute(
        insert(WebhookReceipt)
        .values(kind=kind, sid=sid[:64], status=status[:40])
        .on_conflict_do_nothing()
        .returning(WebhookReceipt.sid)
    )
    return inserted.first() is not None


async def purge_receipts(session: AsyncSession, *, before: datetime) -> int:
    result = await session.execute(delete(WebhookReceipt).where(WebhookReceipt.received_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class AgentCallStats:
    calls: int
    answered: int
    total_seconds: int
    average_seconds: float | None


async def agent_call_stats(
    session: AsyncSession, *, agent_id: uuid.UUID, since: datetime, until: datetime
) -> AgentCallStats:
    row = (
        await session.execute(
            select(
                func.count(),
                func.count(Call.answered_at),
                func.coalesce(func.sum(Call.duration).filter(Call.answered_at.is_not(None)), 0),
                func.avg(Call.duration).filter(Call.answered_at.is_not(None)),
            ).where(
                Call.agent_id == agent_id,
                Call.status.in_(TERMINAL),
                Call.created_at >= since,
                Call.created_at < until,
            )
        )
    ).one()
    return AgentCallStats(
        calls=int(row[0]),
        answered=int(row[1]),
        total_seconds=int(row[2]),
        average_seconds=round(float(row[3]), 1) if row[3] is not None else None,
    )


# --- the queue -------------------------------------------------------------------------------------


async def queue_entry(session: AsyncSession, call_id: uuid.UUID, *, lock: bool = False) -> QueueEntry | None:
    query = select(QueueEntry).where(QueueEntry.call_id == call_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def add_entry(session: AsyncSession, entry: QueueEntry) -> QueueEntry:
    session.add(entry)
    await session.flush()
    return entry


async def position(session: AsyncSession, entry: QueueEntry) -> int:
    """1 + the number of waiting callers ahead (higher priority, or same priority and older)."""
    ahead = await session.scalar(
        select(func.count())
        .select_from(QueueEntry)
        .where(
            QueueEntry.state == "waiting",
            or_(
                QueueEntry.priority > entry.priority,
                and_(
                    QueueEntry.priority == entry.priority,
                    tuple_(QueueEntry.enqueued_at, QueueEntry.id) < tuple_(entry.enqueued_at, entry.id),
                ),
            ),
        )
    )
    return int(ahead or 0) + 1


async def waiting(session: AsyncSession, *, limit: int) -> Sequence[QueueEntry]:
    rows = await session.execute(
        select(QueueEntry)
        .where(QueueEntry.state == "waiting")
        .order_by(QueueEntry.priority.desc(), QueueEntry.enqueued_at, QueueEntry.id)
        .limit(limit)
    )
    return rows.scalars().all()


async def waiting_count(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(QueueEntry).where(QueueEntry.state == "waiting")
        )
        or 0
    )


async def claim_next_waiting(session: AsyncSession) -> QueueEntry | None:
    """Lock the first waiting caller (priority, then age) that no other transaction holds."""
    query = (
        select(QueueEntry)
        .where(QueueEntry.state == "waiting")
        .order_by(QueueEntry.priority.desc(), QueueEntry.enqueued_at, QueueEntry.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def escalate(session: AsyncSession, *, older_than: datetime, now: datetime) -> Sequence[QueueEntry]:
    """Raise by one level the callers waiting since before ``older_than`` (once per period)."""
    rows = await session.execute(
        update(QueueEntry)
        .where(
            QueueEntry.state == "waiting",
            QueueEntry.priority < 4,
            func.coalesce(QueueEntry.escalated_at, QueueEntry.enqueued_at) < older_than,
        )
        .values(priority=QueueEntry.priority + 1, escalated_at=now)
        .returning(QueueEntry)
        .execution_options(synchronize_session=False)
    )
    return rows.scalars().all()


async def unanswered_assignments(session: AsyncSession, *, assigned_before: datetime) -> Sequence[QueueEntry]:
    """Assigned callers whose agent has not picked up in time (locked, skipping busy rows)."""
    rows = await session.execute(
        select(QueueEntry)
        .where(QueueEntry.state == "assigned", QueueEntry.assigned_at < assigned_before)
        .with_for_update(skip_locked=True)
    )
    return rows.scalars().all()


@dataclass(frozen=True)
class WaitingHead:
    """What routing needs of a waiting caller (read without a lock; locked when chosen)."""

    id: uuid.UUID
    required_skills: tuple[str, ...]
    enqueued_at: datetime
    preferred_agent_id: uuid.UUID | None


async def waiting_heads(session: AsyncSession, *, limit: int) -> list[WaitingHead]:
    """Waiting callers in serving order: the few columns routing reads."""
    rows = await session.execute(
        select(
            QueueEntry.id, QueueEntry.required_skills, QueueEntry.enqueued_at, QueueEntry.preferred_agent_id
        )
        .where(QueueEntry.state == "waiting")
        .order_by(QueueEntry.priority.desc(), QueueEntry.enqueued_at, QueueEntry.id)
        .limit(limit)
    )
    return [WaitingHead(r[0], tuple(r[1] or ()), r[2], r[3]) for r in rows.all()]


@dataclass(frozen=True)
class SkillQueueFigures:
    skill: str
    waiting: int
    longest_wait_seconds: float
    offered: int
    answered_in_time: int


async def figures_by_skill(
    session: AsyncSession, *, since: datetime, now: datetime, service_level_seconds: int
) -> list[SkillQueueFigures]:
    """Per required skill: callers waiting, the longest current wait, and since ``since`` how many
    callers' service level is known (answered, abandoned, or waited past the threshold) and how many
    were answered within it."""
    skill = func.unnest(QueueEntry.required_skills).table_valued("skill").render_derived()
    limit = func.make_interval(0, 0, 0, 0, 0, 0, service_level_seconds)
    answered_in_time = and_(Call.answered_at.is_not(None), Call.answered_at - QueueEntry.enqueued_at <= limit)
    known = or_(
        Call.answered_at.is_not(None),
        QueueEntry.state == "abandoned",
        QueueEntry.enqueued_at + limit < now,
    )
    in_window = QueueEntry.enqueued_at >= since
    rows = await session.execute(
        select(
            skill.c.skill,
            func.count().filter(QueueEntry.state == "waiting"),
            func.max(func.extract("epoch", now - QueueEntry.enqueued_at)).filter(
                QueueEntry.state == "waiting"
            ),
            func.count().filter(in_window, known),
            func.count().filter(in_window, answered_in_time),
        )
        .select_from(QueueEntry)
        .join(Call, Call.id == QueueEntry.call_id)
        .join(skill, sa_true())
        .where(or_(in_window, QueueEntry.state == "waiting"))
        .group_by(skill.c.skill)
    )
    return [
        SkillQueueFigures(str(r[0]), int(r[1] or 0), float(r[2] or 0.0), int(r[3] or 0), int(r[4] or 0))
        for r in rows.all()
    ]


# --- assignment: one statement picks, locks and writes ---------------------------------------------

# ``pick``: callers in serving order, walked from ix_call_queue_waiting_order (priority DESC,
# enqueued_at, id; waiting only); for each, the free agent who may take them, found and locked by the
# lateral subquery: the caller's last agent when skilled, else the longest-idle skilled one, else
# (once the caller has waited past the widening wait) the longest-idle agent of all. The first
# caller that gets an agent is locked too, and the walk stops there. Both locks SKIP LOCKED: a caller
# or agent another assigner holds is passed over, never waited for, so two assigners never give one
# agent two callers nor one caller two agents. The free agents are read once (``free``) and each
# caller's candidates taken from there; only the chosen one is looked up and locked. An agent with
# no skills recorded takes any call; otherwise they must hold every required skill (levels are 1-5,
# so holding one is level 1 or more: the rule of ``telephony.queue.service.pick``).
# Then the writes: the queue row, the call (its agent, and its routing history gaining "widened"
# when it was and "assigned", the last 20 steps kept), the agent's status and its history row; the
# statement returns the three rows as they now are.
_ASSIGN_NEXT = """
WITH free AS MATERIALIZED (
    SELECT agent_id, skills, last_status_change
    FROM telephony.agent_status
    WHERE status = 'available'
), pick AS MATERIALIZED (
    SELECT q.id, a.agent_id, a.preferred, a.widened, q.call_id, q.required_skills,
           greatest(0, floor(extract(epoch FROM CAST(:now AS timestamptz) - q.enqueued_at)))::int AS waited
    FROM telephony.call_queue AS q
    CROSS JOIN LATERAL (
        SELECT ag.agent_id, f.preferred, NOT f.skilled AS widened
        FROM (
            SELECT free.agent_id, free.last_status_change,
                   free.skills = '{}'::jsonb OR free.skills ?& q.required_skills::text[] AS skilled,
                   free.agent_id = q.preferred_agent_id
                     AND (free.skills = '{}'::jsonb OR free.skills ?& q.required_skills::text[])
                     IS TRUE AS preferred
            FROM free
        ) AS f
        JOIN telephony.agent_status AS ag ON ag.agent_id = f.agent_id
        WHERE (f.skilled OR q.enqueued_at <= :widen_before) AND ag.status = 'available'
        ORDER BY f.preferred DESC, f.skilled DESC, f.last_status_change, f.agent_id
        LIMIT 1
        FOR UPDATE OF ag SKIP LOCKED
    ) AS a
    WHERE q.state = 'waiting'
    ORDER BY q.priority DESC, q.enqueued_at, q.id
    LIMIT 1
    FOR UPDATE OF q SKIP LOCKED
), steps AS (
    SELECT pick.call_id,
           CASE WHEN pick.widened THEN jsonb_build_array(jsonb_build_object(
               'event', 'widened', 'at', CAST(:at AS text),
               'required_skills', to_jsonb(pick.required_skills), 'waited_seconds', pick.waited,
               'detail', format('no agent with %s was free within %s s: offered to any available agent',
                                array_to_string(pick.required_skills, ', '), CAST(:widen_seconds AS int))
           )) ELSE '[]'::jsonb END
           || jsonb_build_array(jsonb_build_object(
               'event', 'assigned', 'at', CAST(:at AS text), 'agent_id', pick.agent_id::text,
               'skills_matched', NOT pick.widened, 'waited_seconds', pick.waited
           )) AS added
    FROM pick
), q AS (
    UPDATE telephony.call_queue AS e
    SET state = 'assigned', assigned_to = pick.agent_id, assigned_at = :now, attempts = e.attempts + 1,
        widened_at = CASE WHEN pick.widened THEN CAST(:now AS timestamptz) ELSE e.widened_at END
    FROM pick
    WHERE e.id = pick.id
    RETURNING e.*
), c AS (
    UPDATE telephony.calls AS c
    SET agent_id = pick.agent_id,
        metadata = jsonb_set(c.metadata, '{routing}', (
            SELECT coalesce(jsonb_agg(step ORDER BY n), '[]'::jsonb)
            FROM jsonb_array_elements(coalesce(c.metadata -> 'routing', '[]'::jsonb) || steps.added)
                 WITH ORDINALITY AS h(step, n)
            WHERE n > jsonb_array_length(coalesce(c.metadata -> 'routing', '[]'::jsonb) || steps.added) - 20
        ))
    FROM pick JOIN steps ON steps.call_id = pick.call_id
    WHERE c.id = pick.call_id
    RETURNING c.*
), a AS (
    UPDATE telephony.agent_status AS s
    SET status = 'busy', reason = :reason, current_call_id = pick.call_id, last_status_change = :changed_at
    FROM pick
    WHERE s.agent_id = pick.agent_id
    RETURNING s.*
), h AS (
    INSERT INTO telephony.agent_status_changes (agent_id, status, reason, changed_at)
    SELECT agent_id, 'busy', :reason, :changed_at FROM a
)
SELECT {columns}, pick.preferred, pick.widened
FROM pick, q, c, a
"""


@dataclass(frozen=True)
class Assignment:
    """A caller given to an agent, as written (the rows are in the session, replacing its copies)."""

    entry: QueueEntry
    call: Call
    agent: AgentStatus
    preferred: bool
    widened: bool


def _assign_next_statement() -> Any:
    tables = (("q", QueueEntry.__table__), ("c", Call.__table__), ("a", AgentStatus.__table__))
    names = ", ".join(f"{alias}.{col.name}" for alias, table in tables for col in table.columns)
    columns = [col for _, table in tables for col in table.columns]
    statement = text(_ASSIGN_NEXT.replace("{columns}", names)).columns(
        *columns, column("preferred", Boolean), column("widened", Boolean)
    )
    return (
        select(QueueEntry, Call, AgentStatus, column("preferred", Boolean), column("widened", Boolean))
        .from_statement(statement)
        .execution_options(populate_existing=True)
    )


ASSIGN_NEXT = _assign_next_statement()


async def assign_next(
    session: AsyncSession,
    *,
    now: datetime,
    widen_before: datetime,
    widen_seconds: int,
    changed_at: datetime,
    reason: str,
) -> Assignment | None:
    """Pick the next caller and the agent who takes them, lock both and write the assignment, in one
    statement; None when no free agent may take any waiting caller (callers enqueued at or before
    ``widen_before`` take anyone)."""
    row = (
        await session.execute(
            ASSIGN_NEXT,
            {
                "now": now,
                "at": now.isoformat(),
                "widen_before": widen_before,
                "widen_seconds": widen_seconds,
                "changed_at": changed_at,
                "reason": reason,
            },
        )
    ).first()
    if row is None:
        return None
    return Assignment(row[0], row[1], row[2], bool(row[3]), bool(row[4]))


# The worker's ``telephony.recordings.transcribe`` job listens here: the commit that marks a call's
# transcription "pending" wakes it at once (its period is only the safety poll).
TRANSCRIBE_CHANNEL = "telephony_transcriptions"


async def wake_transcriber(session: AsyncSession) -> None:
    """Wake the worker's transcription job when this transaction commits (NOTIFY at commit)."""
    await session.execute(select(func.pg_notify(TRANSCRIBE_CHANNEL, "")))
