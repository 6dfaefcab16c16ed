"""Analytics' churn scores reach dynamic pricing: `customer.churn_scored` on the real broker ->
the latest risk per customer -> the recommended discount of that customer's quote."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import TOPICS
from aintech_contracts.events.analytics import ChurnScored
from aintech_devtools.api import eventually
from aintech_devtools.testing import patient_consumer, publish_event
from aintech_shared.db import Database
from aintech_shared.events.consumer import EventConsumer
from quote_engine.churn.models import CustomerChurn
from quote_engine.consumers import consumer_specs
from quote_engine.core.base import MESSAGING, SCHEMA

from .conftest import Api
from .test_dynamic_pricing import HOME


def _score(customer_id: uuid.UUID, probability: float, scored_at: datetime) -> ChurnScored:
    return ChurnScored(
        customer_id=customer_id,
        probability=probability,
        band="critical" if probability > 0.7 else "low",
        factors=[],
        model_digest="0" * 64,
        synthetic_training=True,
        scored_at=scored_at,
    )


async def _start_at_the_end(bootstrap: str, group: str, topics: list[str]) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in range(TOPICS[t])]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        await consumer.commit({tp: await consumer.position(tp) for tp in partitions})
    finally:
        await consumer.stop()


async def test_a_churn_score_on_the_broker_drives_the_customers_discount(
    api: Api, app: FastAPI, kafka_bootstrap: str
) -> None:
    # The consumer commits for real on its own pool (the app's is bound to the test's rolled-back
    # transaction, which still sees the committed score: read committed).
    db = Database(app.state.db.engine.url.render_as_string(hide_password=False), schema=SCHEMA, pool_size=2)
    spec = next(s for s in consumer_specs(app.state.runtime) if s.name == "quote-engine.churn")
    spec = patient_consumer(spec, name=f"test-{uuid.uuid4().hex[:8]}-{spec.name}")
    await _start_at_the_end(kafka_bootstrap, spec.name, list(spec.topics))
    stop = asyncio.Event()
    task = asyncio.create_task(
        EventConsumer(spec, db=db, tables=MESSAGING, bootstrap=kafka_bootstrap).run(stop)
    )
    customer = uuid.uuid4()
    try:
        await publish_event(
            kafka_bootstrap, _score(customer, 0.9, datetime.now(UTC)), key=str(customer), source="analytics"
        )

        async def stored() -> object:
            async with db.transaction() as session:
                return await session.scalar(
                    select(CustomerChurn.probability).where(CustomerChurn.customer_id == customer)
                )

        assert str(await eventually(stored, within=30, what="the churn score stored")) == "0.9000"
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)
        await db.dispose()
    calc = (
        await api.call("POST", "/calculate", json={**HOME, "customer_id": str(customer)}, expect=201)
    ).json()
    result = (
        await api.call("POST", "/pricing/dynamic", json={"calculation_id": calc["id"]}, expect=200)
    ).json()
    assert result["signals"] == "analytics" and result["churn_risk"] == "0.9000"
    (offer,) = result["offers"]
    # Mapfre's band [0 %, 8 %]; weight 0.9 × (0.5 + 0.5 × 0.5) = 0.675 -> 5.4 %
    assert offer["recommended_discount_percent"] == "5.4"
    assert "from analytics" in offer["why"]
    # a risk given in the request still wins over the stored one
    body = {"calculation_id": calc["id"], "churn_risk": "0"}
    given = (await api.call("POST", "/pricing/dynamic", json=body, expect=200)).json()
    assert given["signals"] == "given" and given["offers"][0]["recommended_discount_percent"] == "0.0"
    # another customer without a score stays neutral
    other = (
        await api.call("POST", "/calculate", json={**HOME, "customer_id": str(uuid.uuid4())}, expect=201)
    ).json()
    neutral = (
        await api.call("POST", "/pricing/dynamic", json={"calculation_id": other["id"]}, expect=200)
    ).json()
    assert neutral["signals"] == "neutral"


async def test_an_older_score_arriving_late_does_not_replace_a_newer_one(api: Api, app: FastAPI) -> None:
    spec = next(s for s in consumer_specs(app.state.runtime) if s.name == "quote-engine.churn")
    customer = uuid.uuid4()
    now = datetime.now(UTC)
    for payload in (_score(customer, 0.2, now), _score(customer, 0.95, now - timedelta(days=1))):
        event = CloudEvent.wrap(payload, type_=payload.event_type, source="analytics", subject=None)
        async with AsyncSession(bind=api.conn, join_transaction_mode="create_savepoint") as session:
            await spec.handlers[payload.event_type](session, event)
            await session.commit()
    async with AsyncSession(bind=api.conn, join_transaction_mode="create_savepoint") as session:
        row = await session.get(CustomerChurn, customer)
    assert row is not None and str(row.probability) == "0.2000"
