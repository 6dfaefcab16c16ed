"""Batch handlers on the real broker and database: one call per run of events, exactly-once effects,
per-partition order, a replay after a lost offset commit, poison dead-lettered beside its batch."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import dead_letter_topic
from aintech_devtools.testing import ScratchSchema, patient_consumer
from aintech_shared.events.consumer import ConsumerSpec, EventConsumer, PermanentError

from .conftest import create_topics

RUN = uuid.uuid4().hex[:8]
BINDING = [("content-type", b"application/cloudevents+json; charset=UTF-8")]
PAID = f"premium.paid.{RUN}"
CANCELLED = f"policy.cancelled.{RUN}"
WAIT = 60.0  # a fresh group's join is slow on a loaded machine


def event(kind: str, policy: str, seq: int) -> CloudEvent:
    return CloudEvent(source="tests", type=kind, data={"policy_id": policy, "seq": seq})


async def produce(bootstrap: str, topic: str, values: Sequence[tuple[bytes, bool]], key: str) -> None:
    """Each (value, with the binding's content type) in order, on the topic's one partition."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for value, structured in values:
            await producer.send_and_wait(
                topic, value, key=key.encode(), headers=BINDING if structured else None
            )
    finally:
        await producer.stop()


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {WAIT:g} s: {what}")
        await asyncio.sleep(0.1)


async def committed_offset(bootstrap: str, group: str, tp: TopicPartition) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    found = offsets.get(tp)
    return found.offset if found is not None else -1


async def end_offset(bootstrap: str, tp: TopicPartition) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        return (await consumer.end_offsets([tp]))[tp]
    finally:
        await consumer.stop()


async def rewind_group(bootstrap: str, group: str, tp: TopicPartition) -> None:
    """Commit offset 0 for ``group``: the state a crash leaves between the database commit and the
    offset commit (the effects are in, Kafka still points at the batch)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([tp])
        await consumer.commit({tp: 0})
    finally:
        await consumer.stop()


async def run_until(consumer: EventConsumer, check: Callable[[], Awaitable[bool]], what: str) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await eventually(check, what)
    finally:
        stop.set()
        await task


async def test_a_batch_handler_gets_runs_in_order_and_a_replay_after_a_lost_offset_commit_changes_nothing(
    scratch: ScratchSchema, kafka_bootstrap: str
) -> None:
    db, tables, ledger = scratch.db, scratch.tables, scratch.ledger
    policy = f"POL-{RUN}-batch"
    topic = f"test.batch.{RUN}"
    tp = TopicPartition(topic, 0)
    await create_topics(kafka_bootstrap, {topic: 1, dead_letter_topic(topic): 1})
    calls: list[list[int]] = []

    async def on_paid(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        calls.append([e.data["seq"] for e in events])
        await session.execute(
            ledger.insert(), [{"policy_id": policy, "seq": e.data["seq"], "event_id": e.id} for e in events]
        )

    async def on_cancelled(session: AsyncSession, e: CloudEvent) -> None:
        await session.execute(ledger.insert().values(policy_id=policy, seq=e.data["seq"], event_id=e.id))

    paid = [event(PAID, policy, n) for n in range(10)]
    cancelled = event(CANCELLED, policy, 100)
    # Paid 0-4 (3 delivered twice), a cancellation between, paid 5-9: order across types is kept.
    sequence = [*paid[:4], paid[3], paid[4], cancelled, *paid[5:]]
    await produce(kafka_bootstrap, topic, [(e.to_bytes(), True) for e in sequence], policy)

    async def applied() -> list[int]:
        async with db.transaction() as session:
            rows = await session.execute(
                select(ledger.c.seq).where(ledger.c.policy_id == policy).order_by(ledger.c.id)
            )
            return list(rows.scalars())

    name = f"batch-{RUN}"
    spec = ConsumerSpec(
        name=name, topics=[topic], handlers={CANCELLED: on_cancelled}, batch_handlers={PAID: on_paid}
    )
    consumer = EventConsumer(patient_consumer(spec), db=db, tables=tables, bootstrap=kafka_bootstrap)
    expected = [0, 1, 2, 3, 4, 100, 5, 6, 7, 8, 9]
    await run_until(consumer, lambda: _has(applied, 9), "the last payment applied")
    assert await applied() == expected, "each event once, in partition order across both types"
    assert max(len(call) for call in calls) > 1, "consecutive payments reach the handler together"
    assert sorted(n for call in calls for n in call) == list(range(10)), "the repeated one is not given again"
    end = await end_offset(kafka_bootstrap, tp)
    assert await committed_offset(kafka_bootstrap, name, tp) == end

    # The process dies after the database commit, before the offset commit: redelivered, no effect.
    await rewind_group(kafka_bootstrap, name, tp)
    calls.clear()
    replay = EventConsumer(patient_consumer(spec), db=db, tables=tables, bootstrap=kafka_bootstrap)

    async def caught_up() -> bool:
        return await committed_offset(kafka_bootstrap, name, tp) == end

    await run_until(replay, caught_up, "the replayed batch committed")
    assert await applied() == expected, "the replay changed nothing"
    assert calls == [], "no event of the replay reached the handler"
    duplicates = REGISTRY.get_sample_value(
        "events_consumed_total", {"consumer": name, "event_type": PAID, "outcome": "duplicate"}
    )
    assert duplicates == 1 + 11, "the in-batch repeat, then the replay's eleven payment records"


async def _has(applied: Callable[[], Awaitable[list[int]]], seq: int) -> bool:
    return seq in await applied()


@pytest.mark.parametrize("failure", ["permanent", "persistent"])
async def test_a_poison_event_in_a_batch_is_dead_lettered_and_its_neighbours_applied_in_order(
    scratch: ScratchSchema, kafka_bootstrap: str, failure: str
) -> None:
    db, tables, ledger = scratch.db, scratch.tables, scratch.ledger
    policy = f"POL-{RUN}-poison-{failure}"
    topic = f"test.batchpoison.{failure}.{RUN}"
    await create_topics(kafka_bootstrap, {topic: 1, dead_letter_topic(topic): 1})
    attempts: dict[int, int] = {}

    async def on_paid(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        for e in events:
            seq = e.data["seq"]
            attempts[seq] = attempts.get(seq, 0) + 1
            if seq == 4:
                if failure == "permanent":
                    raise PermanentError("no premium schedule for this policy")
                raise ValueError("instalment plan does not match the premium")  # every time
        await session.execute(
            ledger.insert(), [{"policy_id": policy, "seq": e.data["seq"], "event_id": e.id} for e in events]
        )

    # A record that is not an event, then a run of payments whose handler fails on seq 4.
    paid = [event(PAID, policy, n) for n in range(10)]
    values = (
        [(e.to_bytes(), True) for e in paid[:2]]
        + [(b"{not json", True)]
        + [(e.to_bytes(), True) for e in paid[2:]]
    )
    await produce(kafka_bootstrap, topic, values, policy)

    async def applied() -> list[int]:
        async with db.transaction() as session:
            rows = await session.execute(
                select(ledger.c.seq).where(ledger.c.policy_id == policy).order_by(ledger.c.id)
            )
            return list(rows.scalars())

    spec = ConsumerSpec(
        name=f"batchpoison-{failure}-{RUN}",
        topics=[topic],
        handlers={},
        batch_handlers={PAID: on_paid},
        backoff_base=0.05,
        backoff_max=0.2,
    )
    consumer = EventConsumer(patient_consumer(spec), db=db, tables=tables, bootstrap=kafka_bootstrap)
    await run_until(consumer, lambda: _has(applied, 9), "the last payment applied")
    assert await applied() == [0, 1, 2, 3, 5, 6, 7, 8, 9], "neighbours applied once each, in order"
    alone = spec.max_attempts if failure == "persistent" else 1
    assert attempts[4] == 1 + alone, "its batch, then alone (retried while it may succeed), then parked"
    assert all(attempts[n] <= 2 for n in range(10) if n != 4), "neighbours: their batch, then alone"

    raw = AIOKafkaConsumer(
        dead_letter_topic(topic),
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id=f"dlq-{uuid.uuid4().hex}",
    )
    await raw.start()
    parked: list[bytes] = []
    try:
        deadline = asyncio.get_running_loop().time() + WAIT
        while len(parked) < 2 and asyncio.get_running_loop().time() < deadline:
            batch = await raw.getmany(timeout_ms=500)
            parked += [r.value or b"" for rs in batch.values() for r in rs]
    finally:
        await raw.stop()
    assert len(parked) == 2
    assert parked[0] == b"{not json", "the record that is not an event is parked as it was"
    assert CloudEvent.from_bytes(parked[1]).data["seq"] == 4, "the failing payment is parked after it"
