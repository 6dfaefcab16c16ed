"""Every committed event arrives, none twice in effect, when the relay or the broker dies mid-flow.

Runs a dedicated Kafka broker (so stopping it does not disturb the rest of the suite), a relay in
a separate process that is SIGKILLed, and a consumer whose effect is an append-only ledger row.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import EventData, dead_letter_topic
from aintech_devtools.testing import ScratchSchema, patient_consumer, scratch_schema
from aintech_shared.db import Database
from aintech_shared.events.consumer import ConsumerSpec, EventConsumer
from aintech_shared.events.outbox import Outbox

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "local"))
import infra  # noqa: E402

pytestmark = pytest.mark.slow

RUN = uuid.uuid4().hex[:8]
TOPIC = f"test.renewals.{RUN}"
SHIFT = int(os.environ.get("AINTECH_STACK_PORT_SHIFT", "0") or 0)
KAFKA_PORT, CONTROLLER_PORT = 29292 + SHIFT, 29293 + SHIFT  # below the client port range


class RenewalDue(EventData, catalogued=False):
    event_type = f"renewal.due.{RUN}"
    topic = TOPIC
    policy_id: str
    n: int


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("fault-kafka")
    jars = infra.ensure_kafka_jars(ROOT / ".local" / "cache" / f"kafka-{infra.KAFKA_VERSION}")
    bootstrap = infra.start_kafka(data_dir, KAFKA_PORT, CONTROLLER_PORT, jars=jars)
    try:
        yield bootstrap, data_dir
    finally:
        infra.stop_kafka(data_dir)


@pytest.fixture(scope="module")
async def store(admin_database_url: str) -> AsyncIterator[ScratchSchema]:
    async with scratch_schema(admin_database_url, "fault_test", pool_size=6) as schema:
        yield schema


def start_relay(url: str, schema: str, bootstrap: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("relay_process.py")), url, schema, bootstrap],
        env={**os.environ, "PYTHONPATH": str(ROOT / "libs" / "shared" / "src")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def stage(db: Database, outbox: Outbox, start: int, count: int) -> list[str]:
    ids = []
    for n in range(start, start + count):
        async with db.transaction() as session:
            policy = f"POL-{n % 7}"
            ids.append((await outbox.publish(session, RenewalDue(policy_id=policy, n=n), key=policy)).id)
    return ids


async def ledger_count(db: Database, ledger: Table) -> tuple[int, int]:
    async with db.transaction() as session:
        row = (
            await session.execute(select(func.count(), func.count(func.distinct(ledger.c.event_id))))
        ).one()
    return int(row[0]), int(row[1])


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.25)
    return False


async def test_relay_kill_and_broker_restart_lose_nothing_and_apply_once(
    broker: tuple[str, Path], store: ScratchSchema
) -> None:
    bootstrap, kafka_dir = broker
    db, tables, ledger, url = store.db, store.tables, store.ledger, store.url
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(TOPIC, 3, 1), NewTopic(dead_letter_topic(TOPIC), 1, 1)])
    await admin.close()

    async def apply(session: AsyncSession, event: CloudEvent) -> None:
        await session.execute(ledger.insert().values(event_id=event.id, policy_id=event.data["policy_id"]))

    spec = ConsumerSpec(name=f"renewals-{RUN}", topics=[TOPIC], handlers={RenewalDue.event_type: apply})
    consumer = EventConsumer(
        patient_consumer(spec), db=db, tables=tables, bootstrap=bootstrap, max_records=20
    )
    stop = asyncio.Event()
    consumer_task = asyncio.create_task(consumer.run(stop))
    outbox = Outbox(tables, source="tests")
    staged = await stage(db, outbox, 0, 400)

    relay = start_relay(url, tables.schema, bootstrap)
    try:
        assert await wait_for(lambda: _at_least(db, ledger, 60), 60), "relay never started delivering"
        relay.send_signal(signal.SIGKILL)  # crash mid-flow: a batch may be sent but not marked
        relay.wait(10)
        staged += await stage(db, outbox, 400, 100)
        relay = start_relay(url, tables.schema, bootstrap)
        assert await wait_for(lambda: _at_least(db, ledger, 250), 60)

        infra.stop_kafka(kafka_dir)  # the broker goes away mid-flow
        staged += await stage(db, outbox, 500, 100)  # business keeps committing meanwhile
        await asyncio.sleep(2)
        infra.start_kafka(kafka_dir, KAFKA_PORT, CONTROLLER_PORT, jars=_jars())

        delivered = await wait_for(lambda: _at_least(db, ledger, len(staged)), 120)
        total, distinct = await ledger_count(db, ledger)
    finally:
        relay.send_signal(signal.SIGTERM)
        relay.wait(15)
        stop.set()
        await consumer_task

    assert delivered, f"only {distinct} of {len(staged)} committed events arrived"
    assert distinct == len(staged) == 600
    assert total == distinct, f"{total - distinct} events took effect twice"
    async with db.transaction() as session:
        applied = set((await session.execute(select(ledger.c.event_id))).scalars())
        unsent = await session.scalar(
            select(func.count()).select_from(tables.outbox).where(tables.outbox.c.sent_at.is_(None))
        )
    assert applied == set(staged)
    assert unsent == 0


def _jars() -> Path:
    return infra.ensure_kafka_jars(ROOT / ".local" / "cache" / f"kafka-{infra.KAFKA_VERSION}")


async def _at_least(db: Database, ledger: Table, n: int) -> bool:
    _, distinct = await ledger_count(db, ledger)
    return distinct >= n
