"""A database outage is waited out, not dead-lettered; the worker's health says so meanwhile.

Runs a dedicated Postgres (so stopping it does not disturb the rest of the suite) against the
suite's Kafka broker: events keep flowing into Kafka while the database is down for 20 s.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client import REGISTRY
from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import EventData, dead_letter_topic
from aintech_devtools.testing import ScratchSchema, scratch_schema
from aintech_shared.db import Database
from aintech_shared.events.consumer import ConsumerSpec, EventConsumer
from aintech_shared.events.outbox import OutboxRelay
from aintech_shared.health import health_app

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "local"))
import infra  # noqa: E402

pytestmark = pytest.mark.slow

RUN = uuid.uuid4().hex[:8]
SHIFT = int(os.environ.get("AINTECH_STACK_PORT_SHIFT", "0") or 0)
# The outage restarts the server on this same port: below the automatically assigned client ports
# (see deploy/local/stack.py), so no connection's local end can take it meanwhile.
PG_PORT = 25732 + SHIFT
BINDING = [("content-type", b"application/cloudevents+json; charset=UTF-8")]
EVENTS = 500
OUTAGE_SECONDS = 20


class ClaimFiled(EventData, catalogued=False):
    event_type = f"claim.filed.{RUN}"
    topic = f"test.claims.{RUN}"
    policy_id: str
    n: int


@pytest.fixture(scope="module")
def postgres() -> Iterator[tuple[str, Path]]:
    # Beside the test stack's data (the server runs as its own system user, which must reach it).
    data_dir = ROOT / ".local" / "test" / f"outage-postgres-{RUN}"
    url = infra.start_postgres(data_dir, PG_PORT)
    try:
        yield url, data_dir
    finally:
        infra.stop_postgres(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
async def store(postgres: tuple[str, Path]) -> AsyncIterator[ScratchSchema]:
    async with scratch_schema(postgres[0], "outage_test", pool_size=6) as schema:
        yield schema


async def make_topics(bootstrap: str, *topics: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [n for t in topics for n in (NewTopic(t, 3, 1), NewTopic(dead_letter_topic(t), 1, 1))]
        )
    finally:
        await admin.close()


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        try:
            ok = await predicate()
        except Exception:  # the database is down: not yet
            ok = False
        if ok:
            return True
        await asyncio.sleep(0.25)
    return False


async def ledger_count(db: Database, ledger: Table) -> tuple[int, int]:
    async with db.transaction() as session:
        row = (
            await session.execute(select(func.count(), func.count(func.distinct(ledger.c.event_id))))
        ).one()
    return int(row[0]), int(row[1])


async def dead_lettered(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tp = TopicPartition(dead_letter_topic(topic), 0)
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


async def test_database_outage_dead_letters_nothing_and_applies_each_event_once(
    postgres: tuple[str, Path], store: ScratchSchema, kafka_bootstrap: str
) -> None:
    _, pg_dir = postgres
    db, tables, ledger = store.db, store.tables, store.ledger
    topic = ClaimFiled.topic
    await make_topics(kafka_bootstrap, topic)

    async def apply(session: AsyncSession, event: CloudEvent) -> None:
        await session.execute(ledger.insert().values(event_id=event.id, policy_id=event.data["policy_id"]))

    # Kafka drops a member that does not poll for max_poll_interval: shorter than the outage here,
    # so the consumer must keep polling (partitions paused) while it waits for the database.
    spec = ConsumerSpec(
        name=f"claims-{RUN}",
        topics=[topic],
        handlers={ClaimFiled.event_type: apply},
        max_poll_interval=OUTAGE_SECONDS / 3,
    )
    consumer = EventConsumer(spec, db=db, tables=tables, bootstrap=kafka_bootstrap, max_records=10)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    sent: list[str] = []

    async def produce() -> None:  # the upstream service keeps publishing at ~40 events/s
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True)
        await producer.start()
        try:
            for n in range(EVENTS):
                policy = f"POL-{n % 13}"
                event = CloudEvent(
                    source="tests", type=ClaimFiled.event_type, data={"policy_id": policy, "n": n}
                )
                await producer.send_and_wait(topic, event.to_bytes(), key=policy.encode(), headers=BINDING)
                sent.append(event.id)
                await asyncio.sleep(0.025)
        finally:
            await producer.stop()

    producing = asyncio.create_task(produce())
    try:
        assert await wait_for(lambda: _at_least(db, ledger, 80), 60), "the consumer never got going"
        infra.stop_postgres(pg_dir)  # the database goes away mid-flow; events keep arriving
        await asyncio.sleep(OUTAGE_SECONDS)  # the outage itself
        infra.start_postgres(pg_dir, PG_PORT)
        await producing
        delivered = await wait_for(lambda: _at_least(db, ledger, EVENTS), 120)
        total, distinct = await ledger_count(db, ledger)
    finally:
        producing.cancel()
        stop.set()
        await asyncio.wait_for(task, 30)
        infra.start_postgres(pg_dir, PG_PORT)  # (a no-op when it is already back)

    parked = await dead_lettered(kafka_bootstrap, topic)
    assert parked == 0, f"{parked} events were dead-lettered because the database was down"
    assignments = REGISTRY.get_sample_value("consumer_rebalances_total", {"consumer": spec.name})
    assert assignments == 1, f"the group rebalanced during the outage ({assignments} assignments)"
    assert delivered, f"only {distinct} of {EVENTS} events took effect"
    assert distinct == EVENTS and total == distinct, f"{total - distinct} events took effect twice"
    async with db.transaction() as session:
        applied = set((await session.execute(select(ledger.c.event_id))).scalars())
    assert applied == set(sent)


async def test_worker_health_turns_503_naming_the_loops_and_recovers(
    postgres: tuple[str, Path], store: ScratchSchema, kafka_bootstrap: str
) -> None:
    _, pg_dir = postgres
    db, tables = store.db, store.tables
    topic = f"test.health.{RUN}"
    await make_topics(kafka_bootstrap, topic)
    relay = OutboxRelay(db, tables, bootstrap=kafka_bootstrap, max_failures=3, stall_seconds=60)

    async def note(session: AsyncSession, event: CloudEvent) -> None:
        await session.execute(select(1))

    spec = ConsumerSpec(name=f"health-{RUN}", topics=[topic], handlers={"claim.noted": note})
    consumer = EventConsumer(spec, db=db, tables=tables, bootstrap=kafka_bootstrap, max_failures=3)
    app = health_app([relay.health, consumer.health], "outage-drill")
    stop = asyncio.Event()
    tasks = [asyncio.create_task(relay.run(stop)), asyncio.create_task(consumer.run(stop))]

    async def status(client: httpx.AsyncClient, code: int) -> bool:
        return (await client.get("/healthz")).status_code == code

    loops = {f"relay:{tables.schema}", f"consumer:{spec.name}"}

    async def both_stalled(client: httpx.AsyncClient) -> bool:
        resp = await client.get("/healthz")
        return resp.status_code == 503 and set(resp.json()["stalled"]) == loops

    async def post_one() -> None:  # work for the consumer: one message it must handle
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            event = CloudEvent(source="tests", type="claim.noted", data={})
            await producer.send_and_wait(topic, event.to_bytes(), headers=BINDING)
        finally:
            await producer.stop()

    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
            assert await wait_for(lambda: status(client, 200), 30), "healthy to begin with"
            infra.stop_postgres(pg_dir)
            await post_one()
            assert await wait_for(lambda: both_stalled(client), 60), (await client.get("/healthz")).text
            body = (await client.get("/healthz")).json()
            assert body["status"] == 503 and body["title"] == "Worker stalled"
            assert "consecutive failures" in body["loops"][f"relay:{tables.schema}"]["stalled"]
            metrics = (await client.get("/metrics")).text
            assert f'worker_loop_consecutive_failures{{loop="relay:{tables.schema}"}}' in metrics
            assert f'worker_loop_seconds_since_progress{{loop="consumer:{spec.name}"}}' in metrics

            infra.start_postgres(pg_dir, PG_PORT)
            assert await wait_for(lambda: status(client, 200), 60), "/healthz did not recover"
            assert (await client.get("/healthz")).json()["loops"][f"relay:{tables.schema}"][
                "consecutive_failures"
            ] == 0
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        infra.start_postgres(pg_dir, PG_PORT)  # (a no-op when it is already back)


async def _at_least(db: Database, ledger: Table, n: int) -> bool:
    _, distinct = await ledger_count(db, ledger)
    return distinct >= n
