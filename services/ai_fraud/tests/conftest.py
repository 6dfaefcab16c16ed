"""Fixtures: ai-fraud on real Postgres (one rolled-back transaction per test), test signing keys,
and helpers that feed the read model with the CRM's events as its consumers would."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from ai_fraud.app import create_app
from ai_fraud.consumers import consumer_specs
from ai_fraud.core.base import MESSAGING
from ai_fraud.core.runtime import Runtime, build_runtime
from ai_fraud.readmodel import service as readmodel
from ai_fraud.settings import Settings
from aintech_contracts import identifiers
from aintech_contracts.events import TOPICS
from aintech_contracts.events.crm import ClaimCreated, CustomerCreated, CustomerUpdated, PolicyCreated
from aintech_contracts.rbac import Role
from aintech_devtools.api import RoleApi, platform_keys, service_api, started_app
from aintech_devtools.testing import TestKeys
from aintech_shared.events.consumer import EventConsumer
from aintech_shared.events.outbox import OutboxRelay

IBAN = "ES9121000418450200051332"
# The CRM's identifier digest key in these tests (ai-fraud itself holds none: it compares digests).
CRM_DIGEST_KEY = b"test-identifier-digest-key-of-the-crm"


def as_published(fields: dict[str, Any]) -> dict[str, Any]:
    """Customer event fields with ``dni``/``iban`` given in clear turned into what the CRM publishes
    for them: keyed digests and last characters (``core_crm.customers.events``)."""
    out = dict(fields)
    if "dni" in out:
        dni = out.pop("dni")
        out["dni_digest"] = identifiers.digest(dni, CRM_DIGEST_KEY)
        out["dni_last3"] = identifiers.last(dni, 3)
    if "iban" in out:
        iban = out.pop("iban")
        out["iban_digest"] = identifiers.digest(iban, CRM_DIGEST_KEY)
        out["iban_last4"] = identifiers.last(iban, 4)
    return out


@pytest.fixture(scope="session")
def keys() -> TestKeys:
    return platform_keys()


# The object store of the test run (claim photos uploaded through the CRM), never .local/objects.
OBJECTS = tempfile.TemporaryDirectory(prefix="fraud-objects-")


def fraud_settings() -> Settings:
    return Settings(AINTECH_OBJECT_STORE_ROOT=OBJECTS.name)


@pytest.fixture(scope="session")
async def app(admin_database_url: str, kafka_bootstrap: str, keys: TestKeys) -> AsyncIterator[FastAPI]:
    async with started_app(create_app(fraud_settings()), keys) as application:
        yield application


@dataclass
class Api(RoleApi):
    """Calls go as one supervisor (an investigator) unless told otherwise."""

    default_role: ClassVar[Role] = Role.supervisor

    @property
    def rt(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    # --- the CRM's events, applied as the read-model consumer applies them -----------------------

    async def customer(self, *, at: datetime | None = None, **fields: Any) -> uuid.UUID:
        customer_id = uuid.uuid4()
        data = CustomerCreated(
            customer_id=customer_id,
            customer_type="individual",
            first_name="Lucía",
            last_name="Martín",
            status="active",
            email=f"c-{customer_id.hex[:10]}@example.com",
            **as_published(fields),
        )
        async with self.app.state.db.transaction() as session:
            await readmodel.apply_customer(
                session, data=data, at=at or datetime.now(UTC) - timedelta(days=800)
            )
        return customer_id

    async def change_customer(
        self, customer_id: uuid.UUID, *, at: datetime, changed: list[str], **fields: Any
    ) -> None:
        data = CustomerUpdated(
            customer_id=customer_id,
            customer_type="individual",
            first_name="Lucía",
            last_name="Martín",
            status="active",
            changed_fields=changed,
            version=2,
            **as_published(fields),
        )
        async with self.app.state.db.transaction() as session:
            await readmodel.apply_customer(session, data=data, at=at)

    async def policy(
        self, customer_id: uuid.UUID, *, start: date, policy_type: str = "home", coverage: str = "150000.00"
    ) -> uuid.UUID:
        policy_id = uuid.uuid4()
        data = PolicyCreated(
            policy_id=policy_id,
            policy_number=f"POL-{policy_id.hex[:8]}",
            policy_type=policy_type,
            carrier="Mapfre",
            customer_id=customer_id,
            status="active",
            coverage_start_date=start,
            coverage_end_date=start + timedelta(days=365),
            premium_amount=Decimal("420.00"),
            premium_frequency="annual",
            coverage_amount=Decimal(coverage),
        )
        async with self.app.state.db.transaction() as session:
            await readmodel.apply_policy(session, data=data)
        return policy_id

    def claim_event(
        self,
        customer_id: uuid.UUID,
        policy_id: uuid.UUID,
        *,
        incident: datetime,
        amount: str = "1200.00",
        claim_type: str = "water_damage",
        attributes: dict[str, Any] | None = None,
    ) -> ClaimCreated:
        claim_id = uuid.uuid4()
        return ClaimCreated(
            claim_id=claim_id,
            claim_number=f"CLM-{claim_id.hex[:8]}",
            claim_type=claim_type,
            status="reported",
            customer_id=customer_id,
            policy_id=policy_id,
            policy_number="POL-1",
            incident_date=incident,
            description="Fuga de agua en la cocina",
            claimed_amount=Decimal(amount),
            attributes=attributes or {"police_report": True, "witnesses": 1},
        )

    async def claim(self, customer_id: uuid.UUID, policy_id: uuid.UUID, **kwargs: Any) -> uuid.UUID:
        data = self.claim_event(customer_id, policy_id, **kwargs)
        async with self.app.state.db.transaction() as session:
            await readmodel.apply_claim(session, data=data, at=datetime.now(UTC))
        return data.claim_id

    async def score(self, claim_id: uuid.UUID, **params: Any) -> dict[str, Any]:
        body = {"claim_id": str(claim_id), **params}
        return dict((await self.call("POST", "/analyze", json=body, expect=200)).json())

    async def outbox(self, event_type: str) -> list[dict[str, Any]]:
        rows = await self.conn.execute(
            text("SELECT payload FROM fraud.outbox WHERE event_type = :t ORDER BY seq"), {"t": event_type}
        )
        return [dict(r[0]) for r in rows]


@pytest.fixture
async def api(app: FastAPI, keys: TestKeys) -> AsyncIterator[Api]:
    async with service_api(app, keys, factory=Api, base_url="http://fraud.test") as api:
        yield api


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


@asynccontextmanager
async def running_on_kafka(app: FastAPI, kafka_bootstrap: str, settings: Settings) -> AsyncIterator[None]:
    """ai-fraud's outbox relay and every consumer of its worker, on the real broker, each consumer in
    a group of its own that starts after what earlier tests left on the topics."""
    db = app.state.db
    rt = build_runtime(settings)
    stop = asyncio.Event()
    run = uuid.uuid4().hex[:8]
    tasks = [
        asyncio.create_task(
            OutboxRelay(db, MESSAGING, bootstrap=kafka_bootstrap, idle_interval=0.2).run(stop)
        )
    ]
    try:
        for spec in consumer_specs(rt):
            spec = replace(spec, name=f"test-{run}-{spec.name}")
            await _start_at_the_end(kafka_bootstrap, spec.name, list(spec.topics))
            tasks.append(
                asyncio.create_task(
                    EventConsumer(spec, db=db, tables=MESSAGING, bootstrap=kafka_bootstrap).run(stop)
                )
            )
        yield
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)


async def forget_claim(db: Any, *, claim_id: uuid.UUID, policy_id: uuid.UUID, customer_id: uuid.UUID) -> None:
    """Remove what a Kafka flow test left in the fraud schema for its claim, policy and customer."""
    async with db.engine.begin() as conn:
        for statement, value in (
            ("DELETE FROM fraud.cases WHERE claim_id = :v", claim_id),
            ("DELETE FROM fraud.scores WHERE claim_id = :v", claim_id),
            ("DELETE FROM fraud.claims WHERE id = :v", claim_id),
            ("DELETE FROM fraud.policies WHERE id = :v", policy_id),
            ("DELETE FROM fraud.customers WHERE id = :v", customer_id),
            ("DELETE FROM fraud.identifiers WHERE customer_id = :v", customer_id),
            ("DELETE FROM fraud.outbox WHERE key = :v", str(claim_id)),
        ):
            await conn.execute(text(statement), {"v": value})
