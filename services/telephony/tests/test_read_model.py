"""The CRM read model, fed through the real broker by the worker's consumer."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from sqlalchemy import text

from aintech_contracts.envelope import KAFKA_HEADERS, CloudEvent
from aintech_contracts.events import EventData
from aintech_contracts.events.crm import (
    ClaimCreated,
    ClaimPaid,
    CustomerCreated,
    CustomerDeleted,
    CustomerUpdated,
)
from aintech_shared.db import Database
from aintech_shared.events.consumer import ConsumerSpec, EventConsumer
from telephony.consumers import CRM_READ_MODEL
from telephony.core.base import MESSAGING

from .conftest import Api, inbound_params, new_call_sid
from .test_inbound import known_customer


def customer(customer_id: uuid.UUID, phone: str, **extra: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "customer_type": "individual",
        "first_name": "Jorge",
        "last_name": "Ruiz",
        "phone": phone,
        "status": "active",
        **extra,
    }


@pytest.fixture
async def consumer(app: FastAPI, kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    """The worker's read-model consumer (own group) running against Kafka and the real schema."""
    db: Database = app.state.db
    spec = ConsumerSpec(
        name=f"test-read-model-{uuid.uuid4().hex[:8]}",
        topics=CRM_READ_MODEL.topics,
        handlers=CRM_READ_MODEL.handlers,
        batch_handlers=CRM_READ_MODEL.batch_handlers,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(
        EventConsumer(spec, db=db, tables=MESSAGING, bootstrap=kafka_bootstrap).run(stop)
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()
        stop.set()
        await task


async def publish(producer: AIOKafkaProducer, payload: EventData, key: uuid.UUID) -> None:
    """Put ``payload`` on Kafka as the CRM's relay would (structured-mode CloudEvent)."""
    event = CloudEvent.wrap(
        payload, type_=payload.event_type, source="core-crm", subject=str(key), partitionkey=str(key)
    )
    await producer.send_and_wait(
        payload.topic, event.to_bytes(), key=str(key).encode(), headers=KAFKA_HEADERS
    )


async def wait_for(
    db: Database, sql: str, args: dict[str, object], expected: object, within: float = 30
) -> None:
    deadline, seen = time.monotonic() + within, None
    while time.monotonic() < deadline:
        async with db.transaction() as session:
            seen = (await session.execute(text(sql), args)).first()
        if (tuple(seen) if seen else None) == expected:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"read model shows {seen}, expected {expected}")


async def test_customer_and_claim_events_from_kafka_keep_the_read_model(
    app: FastAPI, consumer: AIOKafkaProducer
) -> None:
    db: Database = app.state.db
    cid, claim = uuid.uuid4(), uuid.uuid4()
    phone = f"+3461{uuid.uuid4().int % 10_000_000:07d}"
    try:
        await publish(consumer, CustomerCreated(**customer(cid, phone)), cid)
        await publish(
            consumer,
            CustomerUpdated(**customer(cid, phone, segment="vip"), changed_fields=["segment"], version=3),
            cid,
        )
        await publish(
            consumer,
            CustomerUpdated(
                **customer(cid, phone, segment="standard"), changed_fields=["segment"], version=2
            ),
            cid,
        )
        await publish(
            consumer,
            ClaimCreated(
                claim_id=claim,
                claim_number="SIN-9",
                claim_type="home",
                status="reported",
                customer_id=cid,
                policy_id=uuid.uuid4(),
                policy_number="POL-9",
                incident_date=datetime.now(UTC),
                description="Agua",
            ),
            claim,
        )
        sql = (
            "SELECT c.segment, c.version, (SELECT count(*) FROM telephony.open_claims o"
            " WHERE o.customer_id = c.customer_id) FROM telephony.customers c WHERE c.customer_id = :c"
        )
        await wait_for(db, sql, {"c": cid}, ("vip", 3, 1))
        await publish(
            consumer,
            ClaimPaid(
                claim_id=claim,
                claim_number="SIN-9",
                customer_id=cid,
                policy_id=uuid.uuid4(),
                approved_amount=Decimal("100.00"),
                paid_amount=Decimal("100.00"),
                paid_at=datetime.now(UTC),
            ),
            claim,
        )
        await wait_for(db, sql, {"c": cid}, ("vip", 3, 0))
        await publish(
            consumer, CustomerDeleted(customer_id=cid, reason="erased", deleted_at=datetime.now(UTC)), cid
        )
        await wait_for(
            db, "SELECT count(*) FROM telephony.customers WHERE customer_id = :c", {"c": cid}, (0,)
        )
    finally:
        async with db.transaction() as session:
            await session.execute(text("DELETE FROM telephony.customers WHERE customer_id = :c"), {"c": cid})
            await session.execute(text("DELETE FROM telephony.open_claims WHERE claim_id = :c"), {"c": claim})


async def test_merged_customer_moves_open_claims_and_numbers_are_stored_in_e164(api: Api) -> None:
    survivor = await known_customer(api, "+34612000777")
    merged = uuid.uuid4()
    await api.crm_event(CustomerCreated(**customer(merged, "612 000 888")))
    row = await api.row("SELECT phone FROM telephony.customers WHERE customer_id = :c", c=merged)
    assert row == {"phone": "+34612000888"}
    claim = uuid.uuid4()
    await api.crm_event(
        ClaimCreated(
            claim_id=claim,
            claim_number="SIN-1",
            claim_type="auto",
            status="reported",
            customer_id=merged,
            policy_id=uuid.uuid4(),
            policy_number="POL-1",
            incident_date=datetime.now(UTC),
            description="Golpe",
        )
    )
    await api.crm_event(
        CustomerDeleted(
            customer_id=merged, reason="merged", merged_into=survivor, deleted_at=datetime.now(UTC)
        )
    )
    moved = await api.row("SELECT customer_id FROM telephony.open_claims WHERE claim_id = :c", c=claim)
    assert moved == {"customer_id": survivor}
    sid = new_call_sid()
    await api.webhook("incoming", inbound_params(sid, "+34612000888"))
    call = await api.row("SELECT customer_id FROM telephony.calls WHERE call_sid = :s", s=sid)
    assert call == {"customer_id": None}, "a deleted customer's number no longer identifies anyone"
    assert all(
        CRM_READ_MODEL.handles(kind)
        for kind in ("customer.created", "customer.updated", "customer.deleted", "claim.paid")
    )


async def test_a_run_of_customer_events_in_one_statement_leaves_the_rows_one_by_one_would(
    app: FastAPI,
) -> None:
    """The batch handlers against the per-event ones, on the same sequence for two sets of customers:
    a creation, then updates out of order, repeated versions, several customers interleaved."""
    from telephony.customers import consumers as read_model

    db: Database = app.state.db

    def sequence(ids: list[uuid.UUID]) -> tuple[list[CloudEvent], list[CloudEvent]]:
        created = [
            CloudEvent.wrap(p, type_=p.event_type, source="core-crm", subject=None)
            for p in (CustomerCreated(**customer(cid, f"+3461{n}000000")) for n, cid in enumerate(ids))
        ]
        steps = [
            (0, "vip", 3),
            (1, "premium", 1),
            (0, "standard", 2),
            (1, "new", 1),
            (0, "at_risk", 3),
            (2, "prospect", 5),
        ]
        updated = [
            CloudEvent.wrap(p, type_=p.event_type, source="core-crm", subject=None)
            for p in (
                CustomerUpdated(
                    **customer(ids[n], f"+3461{n}000000", segment=segment),
                    changed_fields=["segment"],
                    version=v,
                )
                for n, segment, v in steps
            )
        ]
        return created, updated

    one_by_one, at_once = [uuid.uuid4() for _ in range(3)], [uuid.uuid4() for _ in range(3)]
    try:
        created, updated = sequence(one_by_one)
        async with db.transaction() as session:
            for event in created:
                await read_model.customer_created(session, event)
            for event in updated:
                await read_model.customer_updated(session, event)
        created, updated = sequence(at_once)
        async with db.transaction() as session:
            await read_model.customers_created(session, created)
            await read_model.customers_updated(session, updated)

        async def rows(ids: list[uuid.UUID]) -> list[tuple[Any, ...] | None]:
            found = []
            async with db.transaction() as session:
                for cid in ids:
                    row = (
                        await session.execute(
                            text(
                                "SELECT first_name, phone, segment, status, version"
                                " FROM telephony.customers WHERE customer_id = :c"
                            ),
                            {"c": cid},
                        )
                    ).first()
                    found.append(tuple(row) if row else None)
            return found

        expected = await rows(one_by_one)
        assert [r[2:] if r else None for r in expected] == [
            ("at_risk", "active", 3),
            ("new", "active", 1),
            ("prospect", "active", 5),
        ]
        assert await rows(at_once) == expected
    finally:
        async with db.transaction() as session:
            await session.execute(
                text("DELETE FROM telephony.customers WHERE customer_id = ANY(:c)"),
                {"c": one_by_one + at_once},
            )
