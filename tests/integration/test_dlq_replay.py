"""A refused event is parked with its error, replayed with `python -m aintech_devtools.dlq` once the
handler is fixed, and takes effect exactly once in every consumer group."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import EventData, dead_letter_topic
from aintech_devtools.testing import ScratchSchema, patient_consumer, scratch_schema
from aintech_shared.events.consumer import ConsumerSpec, EventConsumer, PermanentError
from aintech_shared.events.outbox import Outbox, OutboxRelay

RUN = uuid.uuid4().hex[:8]
TOPIC = f"test.underwriting.{RUN}"


class QuoteAccepted(EventData, catalogued=False):
    event_type = f"quote.accepted.{RUN}"
    topic = TOPIC
    quote_id: str


@pytest.fixture
async def store(admin_database_url: str) -> AsyncIterator[ScratchSchema]:
    async with scratch_schema(admin_database_url, "dlq_test") as schema:
        yield schema


async def cli(bootstrap: str, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aintech_devtools.dlq",
        "--bootstrap",
        bootstrap,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return int(proc.returncode or 0), out.decode(), err.decode()


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 30) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.1)
    return False


async def test_refused_event_is_parked_then_replayed_once_for_the_consumer_that_failed(
    store: ScratchSchema, kafka_bootstrap: str
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, 1, 1), NewTopic(dead_letter_topic(TOPIC), 1, 1)])
    finally:
        await admin.close()
    db, tables, ledger = store.db, store.tables, store.ledger
    refuse = True

    def recorder(consumer: str) -> Callable[[AsyncSession, CloudEvent], Awaitable[None]]:
        async def handle(session: AsyncSession, event: CloudEvent) -> None:
            if consumer == "underwriting" and refuse:
                raise PermanentError("no underwriter assigned to the product")
            await session.execute(ledger.insert().values(event_id=event.id, policy_id=consumer))

        return handle

    kind = QuoteAccepted.event_type
    underwriting = ConsumerSpec(f"underwriting-{RUN}", [TOPIC], {kind: recorder("underwriting")})
    billing = ConsumerSpec(f"billing-{RUN}", [TOPIC], {kind: recorder("billing")})

    async def effects(consumer: str, event_id: str) -> int:
        async with db.transaction() as session:
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(ledger)
                    .where(ledger.c.policy_id == consumer, ledger.c.event_id == event_id)
                )
                or 0
            )

    def counted(consumer: str, outcome: str) -> float:
        labels = {"consumer": consumer, "event_type": QuoteAccepted.event_type, "outcome": outcome}
        return REGISTRY.get_sample_value("events_consumed_total", labels) or 0

    stop = asyncio.Event()
    relay = OutboxRelay(db, tables, bootstrap=kafka_bootstrap)
    tasks = [
        asyncio.create_task(relay.run(stop)),
        *(
            asyncio.create_task(
                EventConsumer(patient_consumer(s), db=db, tables=tables, bootstrap=kafka_bootstrap).run(stop)
            )
            for s in (underwriting, billing)
        ),
    ]
    try:
        async with db.transaction() as session:
            event = await Outbox(tables, source="tests").publish(
                session, QuoteAccepted(quote_id="Q-1"), key="Q-1"
            )

        async def parked_and_billed() -> bool:
            parked = counted(underwriting.name, "dead_lettered") == 1
            return parked and await effects("billing", event.id) == 1

        assert await wait_for(parked_and_billed), "the refused event was not dead-lettered"

        code, out, _ = await cli(kafka_bootstrap, "list", "--topic", TOPIC)
        assert code == 0
        assert f"{dead_letter_topic(TOPIC)}: 1 dead letters, 1 not replayed" in out
        line = next(row for row in out.splitlines() if event.id in row)
        assert underwriting.name in line and "parked" in line and f"{TOPIC}[0]@0" in line
        assert "PermanentError: no underwriter assigned to the product" in line

        code, out, _ = await cli(kafka_bootstrap, "show", TOPIC, "--offset", "0")
        shown = json.loads(out)
        assert code == 0 and shown["payload"]["id"] == event.id and shown["key"] == "Q-1"
        assert shown["headers"]["content-type"] == "application/cloudevents+json; charset=UTF-8"
        assert shown["consumer"] == underwriting.name and shown["original_offset"] == 0

        refuse = False  # the handler is fixed
        code, out, err = await cli(kafka_bootstrap, "replay", TOPIC, "--event-id", event.id)
        assert code == 0, err
        assert f"replayed {dead_letter_topic(TOPIC)} 0:0 -> {TOPIC}" in out

        async def settled() -> bool:
            return await effects("underwriting", event.id) == 1 and counted(billing.name, "duplicate") == 1

        assert await wait_for(settled), "the replay did not reach both consumers"
        assert await effects("billing", event.id) == 1, "billing had handled it already: no second effect"

        code, out, _ = await cli(kafka_bootstrap, "replay", TOPIC, "--all")
        assert (code, out.strip()) == (0, f"{dead_letter_topic(TOPIC)}: nothing to replay")
        code, _, err = await cli(kafka_bootstrap, "replay", TOPIC, "--offset", "0")
        assert code == 1 and "already replayed" in err
        code, out, _ = await cli(kafka_bootstrap, "list", "--topic", TOPIC, "--json")
        listed = [json.loads(row) for row in out.splitlines()]
        assert [(d["event_id"], d["replayed_at"] is not None) for d in listed] == [(event.id, True)]
        code, _, err = await cli(kafka_bootstrap, "show", TOPIC, "--offset", "7")
        assert code == 1 and "no dead letter at partition 0 offset 7" in err
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    assert await effects("underwriting", event.id) == 1
    assert counted(underwriting.name, "handled") == 1


async def test_dlq_command_says_when_kafka_is_unreachable() -> None:
    code, out, err = await cli("127.0.0.1:1", "list")
    assert (code, out) == (3, "")
    assert "Kafka at 127.0.0.1:1 unreachable" in err
