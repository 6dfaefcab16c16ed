"""Per aggregate, events reach Kafka in commit order — with real commits on several connections."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer
from sqlalchemy import text

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import EventData, dead_letter_topic
from aintech_devtools.testing import ScratchSchema
from aintech_shared.events.outbox import Outbox, OutboxRelay

from .conftest import create_topics

RUN = uuid.uuid4().hex[:8]
TOPIC = f"test.endorsements.{RUN}"


class PolicyEndorsed(EventData, catalogued=False):
    event_type = f"policy.endorsed.{RUN}"
    topic = TOPIC
    policy_id: str
    change: str


async def read_topic(bootstrap: str, topic: str, expected: int, within: float = 60) -> list[CloudEvent]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"read-{uuid.uuid4().hex}", auto_offset_reset="earliest"
    )
    await consumer.start()
    seen: list[CloudEvent] = []
    try:
        deadline = asyncio.get_running_loop().time() + within
        while len(seen) < expected and asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=250)).values():
                seen.extend(CloudEvent.from_bytes(r.value or b"") for r in records)
    finally:
        await consumer.stop()
    return seen


async def test_same_aggregate_events_reach_kafka_in_commit_order(
    outbox_emptied_after: ScratchSchema, kafka_bootstrap: str
) -> None:
    """T1 publishes for K and stays open; T2 publishes for K; T1 commits; T2 commits.

    The second writer of an aggregate must wait for the first (seen as a lock wait in
    pg_stat_activity), so the order on the topic is the order of the commits.
    """
    await create_topics(kafka_bootstrap, {TOPIC: 3, dead_letter_topic(TOPIC): 1})
    db, tables = outbox_emptied_after.db, outbox_emptied_after.tables
    outbox = Outbox(tables, source="tests")
    policy = f"POL-{RUN}"
    commits: list[str] = []

    t1 = db.sessionmaker()
    t2 = db.sessionmaker()
    try:
        await t1.begin()
        await outbox.publish(t1, PolicyEndorsed(policy_id=policy, change="T1"), key=policy)
        await t2.begin()
        t2_pid = await t2.scalar(text("SELECT pg_backend_pid()"))

        async def second_writer() -> None:
            await outbox.publish(t2, PolicyEndorsed(policy_id=policy, change="T2"), key=policy)

        t2_publish = asyncio.create_task(second_writer())
        async with db.engine.connect() as observer:
            waiting = False
            deadline = asyncio.get_running_loop().time() + 30
            while not t2_publish.done() and asyncio.get_running_loop().time() < deadline:
                waiting = bool(
                    await observer.scalar(
                        text(
                            "SELECT count(*) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
                            "WHERE a.pid = :pid AND a.wait_event_type = 'Lock' AND NOT l.granted"
                        ),
                        {"pid": t2_pid},
                    )
                )
                if waiting:
                    break
                await observer.rollback()  # a fresh snapshot of pg_stat_activity each probe
                await asyncio.sleep(0.02)
        if t2_publish.done():  # T2 was not held back: it commits first, as a fast request would
            await t2_publish
            await t2.commit()
            commits.append("T2")
        assert waiting or t2_publish.done(), "T2 neither waited for T1 nor finished"
        await t1.commit()
        commits.append("T1")
        if commits[0] != "T2":
            await asyncio.wait_for(t2_publish, timeout=30)  # released by T1's commit
            await t2.commit()
            commits.append("T2")
    finally:
        await t1.close()
        await t2.close()

    stop = asyncio.Event()
    relay = OutboxRelay(db, tables, bootstrap=kafka_bootstrap)
    task = asyncio.create_task(relay.run(stop))
    try:
        events = await read_topic(kafka_bootstrap, TOPIC, expected=2)
    finally:
        stop.set()
        await task
    on_kafka = [e.data["change"] for e in events if e.data["policy_id"] == policy]
    assert on_kafka == commits, f"committed {commits} but Kafka has {on_kafka}"
    assert commits == ["T1", "T2"], "the second writer of the aggregate waited for the first"
