"""A fetch of several partitions on the real database (and broker): handled in one transaction,
each partition in order; a failure rolls the whole fetch back and falls back partition by partition;
a poison event in one partition is dead-lettered while the others are applied once, in order."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition
from sqlalchemy import func, select
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import dead_letter_topic
from aintech_devtools.testing import ScratchSchema, find_event, patient_consumer
from aintech_shared.events.consumer import ConsumerSpec, EventConsumer

from .conftest import create_topics

RUN = uuid.uuid4().hex[:8]
BINDING = [("content-type", b"application/cloudevents+json; charset=UTF-8")]
PAID = f"premium.paid.fetch.{RUN}"
WAIT = 60.0  # a fresh group's join is slow on a loaded machine


def event(policy: str, seq: int) -> CloudEvent:
    return CloudEvent(source="tests", type=PAID, data={"policy_id": policy, "seq": seq})


def record(topic: str, partition: int, offset: int, value: bytes) -> ConsumerRecord[Any, Any]:
    return ConsumerRecord(topic, partition, offset, 0, 0, None, value, None, 0, len(value), BINDING)


async def applied(scratch: ScratchSchema, prefix: str) -> dict[str, list[int]]:
    """Each policy's applied seqs, in the order they were written."""
    ledger = scratch.ledger
    async with scratch.db.transaction() as session:
        rows = await session.execute(
            select(ledger.c.policy_id, ledger.c.seq)
            .where(ledger.c.policy_id.startswith(prefix))
            .order_by(ledger.c.id)
        )
        found: dict[str, list[int]] = {}
        for policy, seq in rows:
            found.setdefault(policy, []).append(seq)
        return found


async def test_a_fetch_of_several_partitions_is_one_transaction_and_a_repeat_changes_nothing(
    scratch: ScratchSchema,
) -> None:
    prefix = f"POL-{RUN}-tx-"
    topic = f"test.fetch.tx.{RUN}"
    calls: list[tuple[list[tuple[str, int]], int]] = []

    async def on_paid(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        txid = int(await session.scalar(sql_text("SELECT txid_current()")) or 0)
        calls.append(([(e.data["policy_id"], e.data["seq"]) for e in events], txid))
        await session.execute(
            scratch.ledger.insert(),
            [{"policy_id": e.data["policy_id"], "seq": e.data["seq"], "event_id": e.id} for e in events],
        )

    consumer = EventConsumer(
        ConsumerSpec(name=f"fetch-tx-{RUN}", topics=[topic], handlers={}, batch_handlers={PAID: on_paid}),
        db=scratch.db,
        tables=scratch.tables,
        bootstrap="127.0.0.1:1",  # not used: the fetch is handed over as Kafka would
    )
    fetch = {
        TopicPartition(topic, partition): [
            record(topic, partition, offset, event(f"{prefix}{partition}", offset).to_bytes())
            for offset in range(3)
        ]
        for partition in range(3)
    }
    records = [r for partition in fetch.values() for r in partition]
    failed_at, outcomes = await consumer._apply_at_once(records)
    assert failed_at is None and outcomes == [(PAID, "handled")] * 9
    assert len(calls) == 1, "one run of payments across the three partitions"
    assert len({txid for _, txid in calls}) == 1
    assert await applied(scratch, prefix) == {f"{prefix}{p}": [0, 1, 2] for p in range(3)}, (
        "each partition's events once, in their order"
    )

    calls.clear()
    failed_at, outcomes = await consumer._apply_at_once(records)
    assert failed_at is None and outcomes == [(PAID, "duplicate")] * 9, "a redelivered fetch is handled"
    assert calls == [], "as duplicates: no event reaches the handler again"
    assert await applied(scratch, prefix) == {f"{prefix}{p}": [0, 1, 2] for p in range(3)}


async def test_a_failing_event_rolls_back_the_whole_fetch_of_several_partitions(
    scratch: ScratchSchema,
) -> None:
    prefix = f"POL-{RUN}-rollback-"
    topic = f"test.fetch.rollback.{RUN}"

    async def on_paid(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        await session.execute(
            scratch.ledger.insert(),
            [{"policy_id": e.data["policy_id"], "seq": e.data["seq"], "event_id": e.id} for e in events],
        )
        if any(e.data["policy_id"].endswith("-1") and e.data["seq"] == 1 for e in events):
            raise ValueError("instalment plan does not match the premium")

    consumer = EventConsumer(
        ConsumerSpec(name=f"fetch-rb-{RUN}", topics=[topic], handlers={}, batch_handlers={PAID: on_paid}),
        db=scratch.db,
        tables=scratch.tables,
        bootstrap="127.0.0.1:1",
    )
    fetch = {
        TopicPartition(topic, partition): [
            record(topic, partition, offset, event(f"{prefix}{partition}", offset).to_bytes())
            for offset in range(3)
        ]
        for partition in range(3)
    }
    records = [r for partition in fetch.values() for r in partition]
    failed_at, outcomes = await consumer._apply_at_once(records)
    assert (failed_at, outcomes) == (8, []), "the caller falls back one by one up to the run's end"
    assert await applied(scratch, prefix) == {}, "nothing of the fetch is committed"
    processed = scratch.tables.processed_events
    async with scratch.db.transaction() as session:
        claims = await session.scalar(
            select(func.count()).select_from(processed).where(processed.c.consumer == f"fetch-rb-{RUN}")
        )
    assert claims == 0, "no event is claimed as processed either"


async def test_a_poison_event_in_one_partition_is_dead_lettered_and_the_other_partitions_applied_in_order(
    scratch: ScratchSchema, kafka_bootstrap: str
) -> None:
    prefix = f"POL-{RUN}-poison-"
    topic = f"test.fetch.poison.{RUN}"
    await create_topics(kafka_bootstrap, {topic: 3, dead_letter_topic(topic): 1})
    poison = f"{prefix}1"
    attempts: dict[tuple[str, int], int] = {}

    async def on_paid(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        for e in events:
            key = (e.data["policy_id"], e.data["seq"])
            attempts[key] = attempts.get(key, 0) + 1
            if key == (poison, 2):
                raise ValueError("instalment plan does not match the premium")
        await session.execute(
            scratch.ledger.insert(),
            [{"policy_id": e.data["policy_id"], "seq": e.data["seq"], "event_id": e.id} for e in events],
        )

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for seq in range(5):
            for partition in range(3):
                policy = f"{prefix}{partition}"
                await producer.send_and_wait(
                    topic,
                    event(policy, seq).to_bytes(),
                    key=policy.encode(),
                    partition=partition,
                    headers=BINDING,
                )
    finally:
        await producer.stop()

    spec = ConsumerSpec(
        name=f"fetch-poison-{RUN}",
        topics=[topic],
        handlers={},
        batch_handlers={PAID: on_paid},
        backoff_base=0.05,
        backoff_max=0.2,
    )
    consumer = EventConsumer(
        patient_consumer(spec), db=scratch.db, tables=scratch.tables, bootstrap=kafka_bootstrap
    )
    expected = {f"{prefix}0": [0, 1, 2, 3, 4], poison: [0, 1, 3, 4], f"{prefix}2": [0, 1, 2, 3, 4]}
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await _eventually(lambda: _equals(scratch, prefix, expected), "every partition applied")
    finally:
        stop.set()
        await task
    assert await applied(scratch, prefix) == expected, "each event once, each partition in its order"
    assert attempts[(poison, 2)] == 1 + spec.max_attempts, "its fetch, then alone, then parked"
    others = [n for (policy, seq), n in attempts.items() if (policy, seq) != (poison, 2)]
    assert max(others) <= 2, "neighbours in any partition: their fetch, then alone at most"
    parked = await find_event(
        kafka_bootstrap, dead_letter_topic(topic), lambda e: e.data.get("policy_id") == poison, within=WAIT
    )
    assert parked is not None and parked[0].data["seq"] == 2, "the failing payment is parked"


async def _equals(scratch: ScratchSchema, prefix: str, expected: dict[str, list[int]]) -> bool:
    return await applied(scratch, prefix) == expected


async def _eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {WAIT:g} s: {what}")
        await asyncio.sleep(0.1)


async def test_an_idle_consumer_takes_an_event_at_once_and_stops_without_waiting_out_its_idle_fetch(
    scratch: ScratchSchema, kafka_bootstrap: str
) -> None:
    prefix = f"POL-{RUN}-idle-"
    topic = f"test.fetch.idle.{RUN}"
    await create_topics(kafka_bootstrap, {topic: 2, dead_letter_topic(topic): 1})

    async def on_paid(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        await session.execute(
            scratch.ledger.insert(),
            [{"policy_id": e.data["policy_id"], "seq": e.data["seq"], "event_id": e.id} for e in events],
        )

    # An idle fetch (and poll) far longer than the test's deadlines: waiting one out would fail.
    spec = ConsumerSpec(
        name=f"fetch-idle-{RUN}",
        topics=[topic],
        handlers={},
        batch_handlers={PAID: on_paid},
        idle_after=0.2,
        idle_fetch_max_wait=600.0,
    )
    consumer = EventConsumer(
        patient_consumer(spec), db=scratch.db, tables=scratch.tables, bootstrap=kafka_bootstrap
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    await producer.start()
    try:
        for seq in range(3):
            await _eventually(lambda: _is_idle(consumer), "the consumer idle")
            policy = f"{prefix}{seq % 2}"
            await producer.send_and_wait(
                topic, event(policy, seq).to_bytes(), key=policy.encode(), partition=seq % 2, headers=BINDING
            )
            await _eventually(functools.partial(_has_seq, scratch, prefix, seq), f"event {seq} applied")
        stop.set()
        await asyncio.wait_for(task, timeout=WAIT)
    finally:
        stop.set()
        await producer.stop()
        if not task.done():
            task.cancel()
    assert await applied(scratch, prefix) == {f"{prefix}0": [0, 2], f"{prefix}1": [1]}


async def _is_idle(consumer: EventConsumer) -> bool:
    return consumer.idle


async def _has_seq(scratch: ScratchSchema, prefix: str, seq: int) -> bool:
    return any(seq in seqs for seqs in (await applied(scratch, prefix)).values())
