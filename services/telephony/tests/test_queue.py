"""The queue: priority then age, positions, assignment, escalation, and assignment under concurrency."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.rbac import Role
from aintech_shared.db import Database
from aintech_shared.scheduler import ScheduledJob, run_job_if_due
from telephony.agents.models import AgentStatus
from telephony.calls.models import Call, QueueEntry
from telephony.core.base import MESSAGING, utcnow
from telephony.core.runtime import Runtime
from telephony.queue import service as queue
from telephony.queue.jobs import queue_jobs

from .conftest import Api, new_call_sid
from .test_inbound import choose, ring

BUSINESS_TABLES = (
    "telephony.call_queue, telephony.calls, telephony.agent_status, telephony.agent_status_changes"
)


async def test_priority_first_then_oldest_and_supervisor_assigns_next(api: Api) -> None:
    first, sid1 = await ring(api, "+34699000001")
    await choose(api, first, sid1, "2")  # normal
    second, sid2 = await ring(api, "+34699000002")
    await choose(api, second, sid2, "0")  # low
    third, sid3 = await ring(api, "+34699000003")
    await choose(api, third, sid3, "1")  # high
    fourth, sid4 = await ring(api, "+34699000004")
    await choose(api, fourth, sid4, "3")  # normal, after the first

    supervisor = api.person(Role.supervisor)
    listed = (await api.client.get("/queue", headers=supervisor.auth)).json()["items"]
    assert [i["call_id"] for i in listed] == [third, first, fourth, second]
    assert [i["position"] for i in listed] == [1, 2, 3, 4]

    nobody = await api.client.post("/queue/assign", headers=supervisor.auth)
    assert nobody.status_code == 409, "no agent is available"
    agent = await api.available_agent()
    assert (await api.client.post("/queue/assign", headers=agent.auth)).status_code == 403
    assigned = await api.client.post("/queue/assign", headers=supervisor.auth)
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["call_id"] == third and assigned.json()["assigned_to"] == str(agent.user_id)
    wait = await api.webhook("wait", {"CallSid": sid1}, query={"call_id": first})
    assert "la número 1" in wait.text, "positions move up once the caller ahead is served"


async def test_long_waits_escalate_and_unanswered_assignments_return_to_the_queue(api: Api) -> None:
    rt: Runtime = api.app.state.runtime
    waiting, sid = await ring(api, "+34699000005")
    await choose(api, waiting, sid, "0")
    await api.conn.execute(
        text(
            "UPDATE telephony.call_queue SET enqueued_at = now() - interval '10 minutes' WHERE call_id = :c"
        ),
        {"c": waiting},
    )
    async with await api.session() as session, session.begin():
        raised = await queue.escalate(session, rt=rt)
        again = await queue.escalate(session, rt=rt)
    assert [str(e.call_id) for e in raised] == [waiting] and raised[0].priority == 2
    assert again == [], "escalation happens once per period"

    agent = await api.available_agent()
    async with await api.session() as session, session.begin():
        assert await queue.assign_waiting(session, rt=rt) == 1
    await api.conn.execute(
        text("UPDATE telephony.call_queue SET assigned_at = now() - interval '5 minutes' WHERE call_id = :c"),
        {"c": waiting},
    )
    async with await api.session() as session, session.begin():
        assert await queue.requeue_unanswered(session, rt=rt) == 1
    me = (await api.client.get("/agents/me", headers=agent.auth)).json()
    assert me["status"] == "away" and me["reason"] == "missed a call"
    entry = await api.row("SELECT state, assigned_to FROM telephony.call_queue WHERE call_id = :c", c=waiting)
    assert entry == {"state": "waiting", "assigned_to": None}


async def seed_queue(db: Database, *, callers: int, agents: int) -> list[uuid.UUID]:
    now = utcnow()
    agent_ids = [uuid.uuid4() for _ in range(agents)]
    async with db.transaction() as session:
        for n in range(callers):
            sid = new_call_sid()
            call = Call(
                direction="inbound",
                customer_phone=f"+346990{n:05d}",
                our_number="+34910000000",
                status="in-progress",
                call_sid=sid,
                created_at=now,
                metadata_={},
            )
            session.add(call)
            await session.flush()
            session.add(
                QueueEntry(
                    call_id=call.id,
                    call_sid=sid,
                    customer_phone=call.customer_phone,
                    department="sales",
                    priority=1 + n % 4,
                    base_priority=1 + n % 4,
                    state="waiting",
                    enqueued_at=now + timedelta(milliseconds=n),
                )
            )
        for agent_id in agent_ids:
            session.add(
                AgentStatus(agent_id=agent_id, status="available", capabilities={}, last_status_change=now)
            )
    return agent_ids


async def test_concurrent_assigners_never_double_book_a_caller_or_an_agent(
    committed: Database, app: FastAPI
) -> None:
    rt: Runtime = app.state.runtime
    agent_ids = await seed_queue(committed, callers=30, agents=12)
    start = asyncio.Event()

    async def replica() -> int:
        await start.wait()
        async with committed.transaction() as session:
            return await queue.assign_waiting(session, rt=rt)

    runs = [asyncio.create_task(replica()) for _ in range(6)]
    start.set()
    counts = await asyncio.gather(*runs)
    assert sum(counts) == 12
    async with committed.transaction() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT q.assigned_to, q.call_id, a.current_call_id, a.status"
                    " FROM telephony.call_queue q"
                    " JOIN telephony.agent_status a ON a.agent_id = q.assigned_to WHERE q.state = 'assigned'"
                )
            )
        ).all()
        waiting = await session.scalar(
            text("SELECT count(*) FROM telephony.call_queue WHERE state = 'waiting'")
        )
    assert len(rows) == 12 and waiting == 18
    assert {r.assigned_to for r in rows} == set(agent_ids), "every agent got exactly one caller"
    assert all(r.current_call_id == r.call_id and r.status == "busy" for r in rows)
    urgent_left = await _count(committed, "state = 'waiting' AND priority = 4")
    assert urgent_left == 0, "the urgent callers (8 of 30) were served before anyone else"


async def _count(db: Database, where: str) -> int:
    async with db.transaction() as session:
        return int(
            await session.scalar(text(f"SELECT count(*) FROM telephony.call_queue WHERE {where}"))  # noqa: S608
            or 0
        )


async def test_the_auto_assign_job_runs_once_across_replicas(committed: Database, app: FastAPI) -> None:
    rt: Runtime = app.state.runtime
    await seed_queue(committed, callers=3, agents=3)
    runs: list[int] = []
    start = asyncio.Event()

    async def auto_assign(session: AsyncSession) -> None:
        runs.append(await queue.assign_waiting(session, rt=rt))

    async def replica() -> bool:
        await start.wait()
        return await run_job_if_due(committed, MESSAGING, job)

    job = ScheduledJob("test.queue.auto_assign", timedelta(seconds=5), auto_assign)
    attempts = [asyncio.create_task(replica()) for _ in range(3)]
    start.set()
    results = await asyncio.wait_for(asyncio.gather(*attempts), timeout=30)
    assert sorted(results) == [False, False, True], "three replicas due at once: one runs the job"
    assert runs == [3]
    assert await _count(committed, "state = 'assigned'") == 3


async def test_worker_jobs_assign_escalate_and_forget_old_webhook_receipts(api: Api) -> None:
    jobs = {job.name: job for job in queue_jobs(api.app.state.runtime)}
    assert jobs["telephony.queue.auto_assign"].every == timedelta(seconds=5)
    assert set(jobs) == {
        "telephony.queue.auto_assign",
        "telephony.queue.escalate",
        "telephony.purge_webhook_receipts",
    }
    await api.conn.execute(
        text(
            "INSERT INTO telephony.webhook_receipts (kind, sid, status, received_at) VALUES"
            " ('status', 'CAold', 'completed', now() - interval '8 days'),"
            " ('status', 'CAnew', 'completed', now() - interval '1 day')"
        )
    )
    async with await api.session() as session, session.begin():
        await jobs["telephony.purge_webhook_receipts"].func(session)
    left = await api.conn.execute(text("SELECT sid FROM telephony.webhook_receipts ORDER BY sid"))
    assert [r[0] for r in left] == ["CAnew"]

    waiting, sid = await ring(api, "+34699000009")
    await choose(api, waiting, sid, "2")
    agent = await api.available_agent()
    async with await api.session() as session, session.begin():
        await jobs["telephony.queue.auto_assign"].func(session)
    me = (await api.client.get("/agents/me", headers=agent.auth)).json()
    assert me["status"] == "busy" and me["current_call_id"] == waiting
