"""The one-statement assignment chooses exactly as the routing rule stated in Python (``queue.pick``),
call after call, over a queue with mixed skills, priorities, last agents, generalists and callers
past the widening wait; and the routing history keeps its last 20 steps."""

from __future__ import annotations

import json
import random
import uuid
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import text

from aintech_shared.db import Database
from telephony.agents import service as agents
from telephony.agents.models import AgentStatus
from telephony.calls import repository as calls_repo
from telephony.calls.models import Call, QueueEntry
from telephony.core.base import utcnow
from telephony.core.runtime import Runtime
from telephony.queue import service as queue

from .conftest import BUSINESS_TABLES, new_call_sid

SKILL_SETS = (
    ["claims", "es"],
    ["sales", "es"],
    ["renewals", "es"],
    ["claims", "en"],
    ["es"],
    ["sales", "en"],
)
AGENT_SKILLS: tuple[dict[str, int], ...] = (
    {"claims": 3, "es": 5},
    {"sales": 4, "es": 5},
    {"renewals": 2, "sales": 1, "es": 5},
    {"claims": 1, "en": 4},
    {},  # a generalist: takes any call
    {"sales": 5, "en": 2, "es": 1},
)


async def seed(db: Database, *, rng: random.Random, callers: int, agents: int, widen: timedelta) -> None:
    now = utcnow()
    agent_ids = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(agents)]
    async with db.transaction() as session:
        for n, agent_id in enumerate(agent_ids):
            session.add(
                AgentStatus(
                    agent_id=agent_id,
                    status="available" if n % 7 else "away",
                    capabilities={},
                    skills=rng.choice(AGENT_SKILLS[:4] + AGENT_SKILLS[5:]) if n % 9 else {},
                    last_status_change=now - timedelta(seconds=rng.randrange(600)),
                )
            )
        for n in range(callers):
            sid = new_call_sid()
            call = Call(
                direction="inbound",
                customer_phone=f"+346991{n:05d}",
                our_number="+34910000000",
                status="in-progress",
                call_sid=sid,
                created_at=now,
                metadata_={},
            )
            session.add(call)
            await session.flush()
            level = rng.randint(1, 4)
            session.add(
                QueueEntry(
                    call_id=call.id,
                    call_sid=sid,
                    customer_phone=call.customer_phone,
                    department="sales",
                    priority=level,
                    base_priority=level,
                    preferred_agent_id=rng.choice(agent_ids) if rng.random() < 0.3 else None,
                    state="waiting",
                    # a third have waited past the widening wait
                    enqueued_at=now - (widen + timedelta(seconds=5) if n % 3 == 0 else timedelta(seconds=n)),
                    required_skills=rng.choice(SKILL_SETS),
                )
            )


async def test_the_one_statement_assignment_chooses_as_the_routing_rule_call_after_call(
    committed: Database, app: FastAPI
) -> None:
    rt: Runtime = app.state.runtime
    widen = timedelta(seconds=rt.settings.queue_widen_after_seconds)
    total = 0
    async with committed.transaction() as session:
        await session.execute(text("DELETE FROM telephony.outbox"))
    for round_seed in (7, 11, 23):
        async with committed.transaction() as session:
            await session.execute(text(f"TRUNCATE {BUSINESS_TABLES}"))
        await seed(committed, rng=random.Random(round_seed), callers=60, agents=25, widen=widen)
        now = utcnow()
        assigned = 0
        while True:
            async with committed.transaction() as session:
                heads = await calls_repo.waiting_heads(session, limit=1000)
                free = await agents.available_for_routing(session)
                expected = queue.pick(heads, free, now=now, widen_after=widen)
                entry = await queue.assign_next(session, rt=rt, now=now)
            if expected is None:
                assert entry is None, f"seed {round_seed}: the statement assigned where the rule would not"
                break
            assert entry is not None, f"seed {round_seed}: the rule assigns {expected}, the statement did not"
            async with committed.transaction() as session:
                row = (
                    await session.execute(
                        text(
                            "SELECT q.id, q.assigned_to, q.widened_at, c.metadata -> 'routing' AS routing,"
                            " a.status, a.current_call_id = q.call_id AS on_it"
                            " FROM telephony.call_queue q JOIN telephony.calls c ON c.id = q.call_id"
                            " JOIN telephony.agent_status a ON a.agent_id = q.assigned_to"
                            " WHERE q.id = :e"
                        ),
                        {"e": entry.id},
                    )
                ).one()
            assert (row.id, row.assigned_to) == (expected.entry_id, expected.agent_id), f"seed {round_seed}"
            assert (row.widened_at is not None) == expected.widened
            steps = [step["event"] for step in row.routing]
            assert steps == (["widened", "assigned"] if expected.widened else ["assigned"])
            assert row.routing[-1]["skills_matched"] is (not expected.widened)
            assert row.status == "busy" and row.on_it
            assigned += 1
        assert assigned >= 10, f"seed {round_seed}: the queue should have served several callers"
        total += assigned
    async with committed.transaction() as session:
        events = await session.scalar(
            text(
                "SELECT count(*) FROM telephony.outbox"
                " WHERE event_type IN ('queue.call_assigned', 'agent.status_changed')"
            )
        )
    assert events == 2 * total, "each assignment publishes the agent's status and the assignment"


async def test_the_routing_history_keeps_its_last_20_steps(committed: Database, app: FastAPI) -> None:
    rt: Runtime = app.state.runtime
    await seed(committed, rng=random.Random(3), callers=1, agents=0, widen=timedelta(seconds=0))
    agent_id = uuid.uuid4()
    old = [{"event": "assigned", "at": f"step {n}"} for n in range(25)]
    async with committed.transaction() as session:
        session.add(AgentStatus(agent_id=agent_id, status="available", capabilities={}, skills={}))
        await session.execute(
            text("UPDATE telephony.calls SET metadata = jsonb_build_object('routing', CAST(:old AS jsonb))"),
            {"old": json.dumps(old)},
        )
    async with committed.transaction() as session:
        entry = await queue.assign_next(session, rt=rt)
    assert entry is not None and entry.assigned_to == agent_id
    async with committed.transaction() as session:
        routing = await session.scalar(text("SELECT metadata -> 'routing' FROM telephony.calls"))
    assert len(routing) == 20
    assert routing[0]["at"] == "step 6" and routing[-1]["agent_id"] == str(agent_id)
