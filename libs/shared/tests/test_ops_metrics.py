"""Operational metrics on the real broker: outbox backlog and age, consumer lag, throughput and
dead letters per topic."""

from __future__ import annotations

import asyncio
import uuid

from prometheus_client import REGISTRY
from sqlalchemy import func, text
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import EventData, dead_letter_topic
from aintech_devtools.testing import ScratchSchema, patient_consumer
from aintech_shared.events.consumer import ConsumerSpec, EventConsumer, PermanentError
from aintech_shared.events.outbox import Outbox, OutboxRelay

from .conftest import create_topics

RUN = uuid.uuid4().hex[:8]
TOPIC = f"test.metered.{RUN}"


class Metered(EventData, catalogued=False):
    event_type = f"metered.happened.{RUN}"
    topic = TOPIC
    seq: int


def _value(metric: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(metric, labels)


async def test_outbox_backlog_age_and_consumer_lag_throughput_and_dead_letters(
    outbox_emptied_after: ScratchSchema, kafka_bootstrap: str
) -> None:
    db, tables = outbox_emptied_after.db, outbox_emptied_after.tables
    schema = tables.schema
    await create_topics(kafka_bootstrap, {TOPIC: 1, dead_letter_topic(TOPIC): 1})
    outbox = Outbox(tables, source="tests")
    for n in range(30):
        async with db.transaction() as session:
            await outbox.publish(session, Metered(seq=n), key="one-partition")
    async with db.transaction() as session:  # the rows waited a minute before the relay ran
        outbox_table = tables.outbox
        await session.execute(
            outbox_table.update().values(created_at=func.now() - text("interval '60 seconds'"))
        )

    relay = OutboxRelay(db, tables, bootstrap=kafka_bootstrap, batch_size=10)
    try:
        assert await relay.relay_once() == 10
        assert _value("outbox_unsent_events", schema=schema) == 20
        assert (_value("outbox_oldest_unsent_age_seconds", schema=schema) or 0) >= 60
        while await relay.relay_once():
            pass
    finally:
        await relay._drop_producer()
    assert _value("outbox_unsent_events", schema=schema) == 0
    assert _value("outbox_oldest_unsent_age_seconds", schema=schema) == 0

    name = f"metered-{RUN}"
    lag_seen: list[float] = []
    done = asyncio.Event()

    async def on_metered(session: AsyncSession, event: CloudEvent) -> None:
        seq = event.data_as(Metered).seq
        if seq == 0:
            lag_seen.append(_value("consumer_lag_messages", consumer=name, topic=TOPIC) or 0)
        if seq == 7:
            raise PermanentError("seq 7 can never be handled")
        if seq == 29:
            done.set()

    consumer = EventConsumer(
        patient_consumer(ConsumerSpec(name=name, topics=[TOPIC], handlers={Metered.event_type: on_metered})),
        db=db,
        tables=tables,
        bootstrap=kafka_bootstrap,
        max_records=5,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await asyncio.wait_for(done.wait(), timeout=60)
    finally:
        stop.set()
        await task

    assert lag_seen == [25], "after fetching 5 of 30 the consumer is 25 behind"
    assert _value("consumer_lag_messages", consumer=name, topic=TOPIC) == 0
    assert _value("consumer_records_processed_total", consumer=name, topic=TOPIC) == 30
    assert _value("events_dead_lettered_total", consumer=name, topic=TOPIC) == 1
    assert (
        _value("events_consumed_total", consumer=name, event_type=Metered.event_type, outcome="handled") == 29
    )
