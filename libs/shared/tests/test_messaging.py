"""Outbox -> relay -> Kafka -> consumer on the real broker: ordering, de-duplication, dead letters."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import EventData, dead_letter_topic
from aintech_devtools.testing import ScratchSchema, patient_consumer
from aintech_shared.db import Database
from aintech_shared.events.consumer import ConsumerSpec, EventConsumer, PermanentError
from aintech_shared.events.outbox import Outbox, OutboxRelay
from aintech_shared.events.tables import MessagingTables
from aintech_shared.scheduler import ScheduledJob, run_job_if_due

from .conftest import create_topics

RUN = uuid.uuid4().hex[:8]
BINDING = [("content-type", b"application/cloudevents+json; charset=UTF-8")]
TOPIC = f"test.payments.{RUN}"


class PaymentRecorded(EventData, catalogued=False):
    event_type = f"payment.recorded.{RUN}"
    topic = TOPIC
    policy_id: str
    seq: int


@pytest.fixture(scope="module")
async def topics(kafka_bootstrap: str) -> str:
    await create_topics(kafka_bootstrap, {TOPIC: 3, dead_letter_topic(TOPIC): 1})
    return TOPIC


@pytest.fixture
async def clean(
    scratch: ScratchSchema,
) -> AsyncIterator[tuple[Database, MessagingTables]]:
    db, tables = scratch.db, scratch.tables
    yield db, tables
    async with db.transaction() as s:
        await s.execute(tables.outbox.delete())


async def stage(db: Database, outbox: Outbox, policy: str, seqs: range) -> list[str]:
    ids = []
    for n in seqs:
        async with db.transaction() as session:
            event = await outbox.publish(session, PaymentRecorded(policy_id=policy, seq=n), key=policy)
            ids.append(event.id)
    return ids


async def drain(bootstrap: str, topic: str, expected: int, timeout: float = 60) -> list[CloudEvent]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"drain-{uuid.uuid4().hex}", auto_offset_reset="earliest"
    )
    await consumer.start()
    seen: list[CloudEvent] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(seen) < expected and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                seen.extend(CloudEvent.from_bytes(r.value) for r in records)
    finally:
        await consumer.stop()
    return seen


async def test_rolled_back_transaction_publishes_nothing(clean: tuple[Database, MessagingTables]) -> None:
    db, tables = clean
    outbox = Outbox(tables, source="tests")
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await outbox.publish(session, PaymentRecorded(policy_id="P-1", seq=1), key="P-1")
            raise RuntimeError("business rule failed")
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(tables.outbox)) == 0


async def test_two_relays_deliver_each_event_once_in_order(
    clean: tuple[Database, MessagingTables], topics: str, kafka_bootstrap: str
) -> None:
    db, tables = clean
    outbox = Outbox(tables, source="tests")
    policies = [f"POL-{RUN}-{i}" for i in range(4)]
    staged = await asyncio.gather(*(stage(db, outbox, p, range(25)) for p in policies))
    relays = [OutboxRelay(db, tables, bootstrap=kafka_bootstrap, batch_size=7) for _ in range(2)]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(r.run(stop)) for r in relays]
    try:
        events = await drain(kafka_bootstrap, topics, expected=100)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    mine = [e for e in events if e.data["policy_id"] in policies]
    assert sorted(e.id for e in mine) == sorted(i for ids in staged for i in ids), "each event exactly once"
    for policy in policies:
        seqs = [e.data["seq"] for e in mine if e.data["policy_id"] == policy]
        assert seqs == list(range(25)), f"{policy} out of order: {seqs}"
    first = mine[0]
    assert (first.specversion, first.source, first.type) == ("1.0", "tests", PaymentRecorded.event_type)
    assert first.correlationid
    async with db.transaction() as session:
        unsent = await session.scalar(
            select(func.count()).select_from(tables.outbox).where(tables.outbox.c.sent_at.is_(None))
        )
    assert unsent == 0
    labels = {"schema": tables.schema}
    assert (REGISTRY.get_sample_value("outbox_events_sent_total", labels) or 0) >= 100
    assert REGISTRY.get_sample_value("outbox_unsent_events", labels) == 0


async def test_consumer_deduplicates_and_dead_letters_poison(
    clean: tuple[Database, MessagingTables], scratch: ScratchSchema, topics: str, kafka_bootstrap: str
) -> None:
    db, tables = clean
    policy = f"POL-{RUN}-dlq"
    ledger = scratch.ledger
    attempts: dict[int, int] = {}

    async def on_payment(session: AsyncSession, event: CloudEvent) -> None:
        payment = event.data_as(PaymentRecorded)
        if payment.policy_id != policy:
            return  # events of the other tests on this topic
        attempts[payment.seq] = attempts.get(payment.seq, 0) + 1
        if payment.seq == 2:
            raise PermanentError("policy has no premium schedule")
        if payment.seq == 4:
            raise ValueError("instalment plan does not match the premium")  # every time
        if payment.seq == 3 and attempts[3] == 1:
            raise ConnectionError("transient")  # fails once, then succeeds on retry
        await session.execute(ledger.insert().values(policy_id=payment.policy_id, seq=payment.seq))

    async def applied() -> list[int]:
        async with db.transaction() as session:
            rows = await session.execute(
                select(ledger.c.seq).where(ledger.c.policy_id == policy).order_by(ledger.c.id)
            )
            return list(rows.scalars())

    good = CloudEvent(source="tests", type=PaymentRecorded.event_type, data={"policy_id": policy, "seq": 1})
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        key = policy.encode()
        await producer.send_and_wait(topics, good.to_bytes(), key=key, headers=BINDING)
        await producer.send_and_wait(topics, good.to_bytes(), key=key, headers=BINDING)  # duplicate
        await producer.send_and_wait(topics, b"{not json", key=key, headers=BINDING)  # not an envelope
        await producer.send_and_wait(topics, good.to_bytes(), key=key)  # no structured content type
        for seq in (2, 3, 4, 5):
            event = CloudEvent(
                source="tests", type=PaymentRecorded.event_type, data={"policy_id": policy, "seq": seq}
            )
            await producer.send_and_wait(topics, event.to_bytes(), key=key, headers=BINDING)
    finally:
        await producer.stop()

    spec = ConsumerSpec(
        name=f"billing-{RUN}",
        topics=[topics],
        handlers={PaymentRecorded.event_type: on_payment},
        backoff_base=0.05,
    )
    consumer = EventConsumer(patient_consumer(spec), db=db, tables=tables, bootstrap=kafka_bootstrap)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        for _ in range(600):  # up to a minute: a fresh group's join is slow on a loaded machine
            if 5 in await applied():
                break
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await task
    assert await applied() == [1, 3, 5], "duplicate skipped; poison and failing events did not block"
    assert attempts[4] == 1 + spec.max_attempts, "its batch, then max_attempts alone, then parked"
    assert attempts[2] >= 1 and attempts[3] >= 2
    raw = AIOKafkaConsumer(
        dead_letter_topic(topics),
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id=f"dlq-{uuid.uuid4().hex}",
    )
    await raw.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        # A fresh group is assigned its partition only after it joins: read until the four dead
        # letters are in, not for one fixed fetch.
        deadline = asyncio.get_running_loop().time() + 60
        while len(records) < 4 and asyncio.get_running_loop().time() < deadline:
            batch = await raw.getmany(timeout_ms=500)
            records += [r for rs in batch.values() for r in rs if r.key == policy.encode()]
    finally:
        await raw.stop()
    assert records[0].value == b"{not json", "the poison message is parked as it was"
    assert records[1].value == good.to_bytes(), "the message without the binding's content type too"
    assert CloudEvent.from_bytes(records[2].value).data["seq"] == 2
    errors = [dict(r.headers)["dlq_error"].decode() for r in records]
    assert len(errors) == 4
    assert "ValueError: instalment plan does not match the premium" in errors[3]
    assert dict(records[3].headers)["dlq_attempts"] == str(spec.max_attempts).encode()
    assert "malformed CloudEvent" in errors[0]
    assert "not a structured-mode CloudEvent: content-type missing" in errors[1]
    assert "PermanentError: policy has no premium schedule" in errors[2]
    assert dict(records[2].headers)["dlq_consumer"] == spec.name.encode()
    dead = REGISTRY.get_sample_value(
        "events_consumed_total",
        {"consumer": spec.name, "event_type": PaymentRecorded.event_type, "outcome": "dead_lettered"},
    )
    assert dead == 3, "dead-letter metrics carry the event's real type"
    async with db.transaction() as session:
        processed = await session.scalar(
            select(func.count())
            .select_from(tables.processed_events)
            .where(tables.processed_events.c.consumer == spec.name)
        )
    assert (
        processed is not None and processed >= 3
    )  # seq 1 (once), 3 and 5, plus the other tests' events on the topic


async def test_a_batch_claims_each_event_once_repeated_or_processed_before(
    clean: tuple[Database, MessagingTables], scratch: ScratchSchema, kafka_bootstrap: str
) -> None:
    """One partition's batch, every record a valid event: the batch's claim statement lets an event
    already processed by this consumer, and an event repeated inside the same batch, run once."""
    db, tables = clean
    policy = f"POL-{RUN}-claim"
    ledger = scratch.ledger
    name = f"claims-{RUN}"
    topic = f"test.claims.{RUN}"  # its own topic: only this test's records, all in one partition
    await create_topics(kafka_bootstrap, {topic: 1, dead_letter_topic(topic): 1})

    async def on_payment(session: AsyncSession, event: CloudEvent) -> None:
        payment = event.data_as(PaymentRecorded)
        if payment.policy_id == policy:
            await session.execute(ledger.insert().values(policy_id=policy, seq=payment.seq))

    events = [
        CloudEvent(source="tests", type=PaymentRecorded.event_type, data={"policy_id": policy, "seq": n})
        for n in range(4)
    ]
    async with db.transaction() as session:  # seq 0 was handled by this consumer before
        await session.execute(
            tables.processed_events.insert().values(
                consumer=name, event_id=events[0].id, event_type=events[0].type
            )
        )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for event in (events[0], events[1], events[2], events[1], events[3], events[2]):
            await producer.send_and_wait(topic, event.to_bytes(), key=policy.encode(), headers=BINDING)
    finally:
        await producer.stop()

    async def applied() -> list[int]:
        async with db.transaction() as session:
            rows = await session.execute(
                select(ledger.c.seq).where(ledger.c.policy_id == policy).order_by(ledger.c.id)
            )
            return list(rows.scalars())

    spec = ConsumerSpec(name=name, topics=[topic], handlers={PaymentRecorded.event_type: on_payment})
    consumer = EventConsumer(patient_consumer(spec), db=db, tables=tables, bootstrap=kafka_bootstrap)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        for _ in range(600):  # up to a minute: a fresh group's join is slow on a loaded machine
            if 3 in await applied():
                break
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await task
    assert await applied() == [1, 2, 3], "processed before: skipped; repeated in the batch: once"
    duplicates = REGISTRY.get_sample_value(
        "events_consumed_total",
        {"consumer": name, "event_type": PaymentRecorded.event_type, "outcome": "duplicate"},
    )
    assert duplicates == 3


async def test_scheduled_job_runs_once_across_replicas(clean: tuple[Database, MessagingTables]) -> None:
    db, tables = clean
    runs = 0

    async def renewals(session: AsyncSession) -> None:
        nonlocal runs
        runs += 1
        await asyncio.sleep(0.3)

    job = ScheduledJob(f"renewals-{RUN}", timedelta(hours=1), renewals)
    results = await asyncio.gather(*(run_job_if_due(db, tables, job) for _ in range(3)))
    assert sorted(results) == [False, False, True]
    assert runs == 1
    assert await run_job_if_due(db, tables, job) is False, "not due again for an hour"


async def test_relay_follows_the_cloudevents_kafka_binding_in_structured_mode(
    clean: tuple[Database, MessagingTables], topics: str, kafka_bootstrap: str
) -> None:
    db, tables = clean
    policy = f"POL-{RUN}-binding"
    [event_id] = await stage(db, Outbox(tables, source="tests"), policy, range(1))
    stop = asyncio.Event()
    task = asyncio.create_task(OutboxRelay(db, tables, bootstrap=kafka_bootstrap).run(stop))
    raw = AIOKafkaConsumer(
        topics,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"raw-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
    )
    await raw.start()
    try:
        found = None
        deadline = asyncio.get_running_loop().time() + 60
        while found is None and asyncio.get_running_loop().time() < deadline:
            for records in (await raw.getmany(timeout_ms=250)).values():
                found = next((r for r in records if r.key == policy.encode()), found)
    finally:
        await raw.stop()
        stop.set()
        await task
    assert found is not None
    assert list(found.headers) == [("content-type", b"application/cloudevents+json; charset=UTF-8")]
    event = orjson.loads(found.value or b"")
    assert event["id"] == event_id and event["partitionkey"] == policy == found.key.decode()
    assert event["specversion"] == "1.0" and event["datacontenttype"] == "application/json"
    assert event["correlationid"], "the correlation id travels inside the event"
