"""Fixtures: the CRM on real Postgres (one rolled-back transaction per test), test signing keys."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from aintech_contracts.rbac import Role
from aintech_devtools.api import Person, ServiceApi, service_api
from aintech_devtools.testing import CommittedDatabase, TestKeys, committed_database, patient_consumer
from core_crm.app import create_app
from core_crm.settings import Settings

ALEMBIC_INI = Path(__file__).resolve().parents[1] / "alembic.ini"
ISSUER = "https://auth.aintech.local"
AUDIENCE = "aintech-api"

# Valid Spanish identifiers for tests (check letters verified by python-stdnum).
DNIS = ["12345678Z", "87654321X", "11111111H", "22222222J", "33333333P", "44444444A", "55555555K"]
IBAN = "ES9121000418450200051332"
LEAD_SECRET = "test-web-form-secret-0123456789"


# Transitions that need If-Match or an Idempotency-Key (core_crm.core.transitions).
GUARDED_TRANSITIONS = frozenset(
    {"activate", "cancel", "renew", "convert", "approve", "pay", "assign", "merge"}
)


def once() -> dict[str, str]:
    """A fresh Idempotency-Key header: one intended operation."""
    return {"Idempotency-Key": str(uuid.uuid4())}


# Claim documents go to a directory of the test run, never to the developer's .local/objects.
OBJECTS = tempfile.TemporaryDirectory(prefix="crm-objects-")


def crm_settings(**overrides: Any) -> Settings:
    # The suite's fixtures sell policies on fixed dates of 2025-2026; the backdating rule itself is
    # tested with the default grace period (test_backdating.py).
    values: dict[str, Any] = {
        "webhook_allowlist": ["127.0.0.1"],
        "webhook_timeout_seconds": 3.0,
        "backdate_grace_days": 3650,
        "lead_sources": {"web": LEAD_SECRET},
        "AINTECH_OBJECT_STORE_ROOT": OBJECTS.name,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def keys() -> TestKeys:
    return TestKeys(issuer=ISSUER, audience=AUDIENCE)


@pytest.fixture(scope="session")
async def app(admin_database_url: str, kafka_bootstrap: str, keys: TestKeys) -> AsyncIterator[FastAPI]:
    application = create_app(crm_settings())
    application.state.token_verifier = keys.verifier()
    async with application.router.lifespan_context(application):
        yield application


@dataclass
class Api(ServiceApi):
    """The fleet's ServiceApi plus the CRM's common setup; requests go as one agent by default."""

    agent_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def auth(self, role: Role = Role.agent, sub: str | None = None) -> dict[str, str]:
        if sub is None and role is not Role.customer:
            sub = self.agent_id
        return {"Authorization": f"Bearer {self.keys.token(role=role, sub=sub)}"}

    @property
    def agent(self) -> dict[str, str]:
        return self.auth(Role.agent)

    @property
    def supervisor(self) -> dict[str, str]:
        return self.auth(Role.supervisor, sub=str(uuid.uuid4()))

    async def call(
        self,
        method: str,
        path: str,
        *,
        expect: int,
        as_: Person | None = None,
        headers: dict[str, str] | None = None,
        bare: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request, as the agent unless told otherwise; a guarded transition gets a fresh
        Idempotency-Key, as a careful client sends, unless it names its own precondition or ``bare``
        asks for none."""
        if as_ is None and headers is None:
            headers = self.agent
        if method == "POST" and path.rsplit("/", 1)[-1] in GUARDED_TRANSITIONS and not bare:
            named = {name.lower() for name in (headers or {})}
            if not named & {"if-match", "idempotency-key"}:
                headers = {**(headers or {}), **once()}
        return await super().call(method, path, expect=expect, as_=as_, headers=headers, **kwargs)

    async def customer(self, **fields: Any) -> dict[str, Any]:
        body = {
            "first_name": "Lucía",
            "last_name": "Martín",
            "email": f"c-{uuid.uuid4().hex[:10]}@example.com",
            "postal_code": "28013",
            **fields,
        }
        return dict((await self.call("POST", "/customers", json=body, expect=201)).json())

    async def customer_login(self, customer_id: str) -> dict[str, str]:
        """Link a new customer account to ``customer_id``; returns its auth header."""
        user_id = str(uuid.uuid4())
        await self.conn.execute(
            text("UPDATE crm.customers SET user_id = :u WHERE id = :c"), {"u": user_id, "c": customer_id}
        )
        return self.auth(Role.customer, sub=user_id)

    async def policy(self, customer_id: str, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "customer_id": customer_id,
            "policy_type": "home",
            "carrier": "Mapfre",
            "coverage_start_date": "2026-01-01",
            "coverage_end_date": "2027-01-01",
            "premium_amount": "420.00",
            "premium_frequency": "annual",
            "coverage_amount": "150000.00",
            "details": {"property_address": "Calle Mayor 12", "property_type": "apartment"},
            **fields,
        }
        return dict((await self.call("POST", "/policies", json=body, expect=201)).json())


@pytest.fixture
async def api(app: FastAPI, keys: TestKeys) -> AsyncIterator[Api]:
    async with service_api(app, keys, factory=Api, base_url="http://crm.test") as api:
        yield api


@dataclass
class Live(Api):
    """An ``Api`` on an app with its own database whose requests commit for real on several
    connections (unique indexes and row locks really contended)."""

    database: CommittedDatabase = field(kw_only=True)


@pytest.fixture(scope="session")
async def live_database(admin_database_url: str) -> AsyncIterator[CommittedDatabase]:
    async with committed_database(
        admin_database_url, service="core_crm", alembic_ini=ALEMBIC_INI
    ) as database:
        yield database


@pytest.fixture(scope="session")
async def live_app(
    live_database: CommittedDatabase, kafka_bootstrap: str, keys: TestKeys
) -> AsyncIterator[FastAPI]:
    application = create_app(crm_settings(AINTECH_DATABASE_URL=live_database.url))
    application.state.token_verifier = keys.verifier()
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def live(live_app: FastAPI, live_database: CommittedDatabase, keys: TestKeys) -> AsyncIterator[Live]:
    """The app on its own database: every request commits; every row is deleted afterwards."""
    try:
        async with (
            live_database.engine.connect() as conn,
            AsyncClient(transport=ASGITransport(app=live_app), base_url="http://crm.test") as client,
        ):
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            yield Live(app=live_app, client=client, conn=conn, keys=keys, database=live_database)
    finally:
        await live_database.clear()


PURGE_ORDER = (
    "DELETE FROM crm.renewal_confirmations WHERE customer_id = :c",
    "DELETE FROM crm.unmatched_interactions WHERE customer_id = :c",
    "DELETE FROM crm.workflow_step_runs WHERE execution_id IN (SELECT id FROM crm.workflow_executions"
    " WHERE trigger_data->>'customer_id' = :c)",
    "DELETE FROM crm.workflow_executions WHERE trigger_data->>'customer_id' = :c",
    "DELETE FROM crm.tasks WHERE customer_id = :c",
    "DELETE FROM crm.interactions WHERE customer_id = :c",
    "DELETE FROM crm.claims WHERE customer_id = :c",
    "DELETE FROM crm.quotes WHERE customer_id = :c",
    "DELETE FROM crm.policies WHERE customer_id = :c",
    "DELETE FROM crm.customer_audit WHERE customer_id = :c",
    "DELETE FROM crm.customers WHERE id = :c",
    "DELETE FROM crm.outbox WHERE payload->'data'->>'customer_id' = :c",
)


@pytest.fixture
async def committed(app: FastAPI, keys: TestKeys) -> AsyncIterator[Api]:
    """The app with real commits (for concurrency tests); the customers it created are purged after."""
    db = app.state.db
    async with (
        AsyncClient(transport=ASGITransport(app=app), base_url="http://crm.test") as client,
        db.engine.connect() as conn,
    ):
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        api = Api(app=app, client=client, conn=conn, keys=keys)
        started = await conn.scalar(text("SELECT now()"))
        try:
            yield api
        finally:
            ids = await conn.scalars(
                text("SELECT id FROM crm.customers WHERE created_at >= :t AND created_by = :a"),
                {"t": started, "a": api.agent_id},
            )
            for customer_id in ids.all():
                for statement in PURGE_ORDER:
                    await conn.execute(text(statement), {"c": str(customer_id)})
            await conn.execute(
                text(
                    "DELETE FROM crm.unmatched_interactions WHERE received_at >= :t AND customer_id IS NULL"
                ),
                {"t": started},
            )


@dataclass
class Flow:
    """The real pipeline: committed requests, the outbox relay and the CRM's consumers on Kafka."""

    api: Api
    db: Any
    rt: Any
    bootstrap: str

    async def publish(self, payload: Any, *, key: str, source: str) -> str:
        """Stage an event as another service would publish it (relayed like every event)."""
        from aintech_shared.events.outbox import Outbox
        from core_crm.core.base import MESSAGING

        async with self.db.transaction() as session:
            event = await Outbox(MESSAGING, source=source).publish(session, payload, key=key)
        return event.id

    async def wait_for(self, query: str, params: dict[str, Any], *, within: float = 30.0) -> Any:
        """Poll the database until ``query`` returns a non-empty first value (deadline, no fixed sleep)."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            value = await self.api.conn.scalar(text(query), params)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"condition not met within {within}s: {query} {params}")
            await asyncio.sleep(0.2)

    async def event(self, topic: str, event_type: str, key: str, *, within: float = 30.0) -> dict[str, Any]:
        """The CloudEvent of ``event_type`` keyed by ``key`` as read back from Kafka."""
        from aintech_devtools.testing import find_event

        found = await find_event(
            self.bootstrap, topic, lambda e: e.type == event_type and (e.subject == key), within=within
        )
        assert found is not None, f"{event_type} for {key} never reached {topic}"
        event, raw_key = found
        assert raw_key == key.encode(), "the Kafka key is the aggregate id"
        return event.model_dump(mode="json")

    async def collect(
        self, expected: list[tuple[str, str, str]], *, within: float = 60.0
    ) -> dict[str, dict[str, Any]]:
        """Read the topics once from the start until every (topic, type, key) is seen; events by type."""
        from aiokafka import AIOKafkaConsumer

        from aintech_contracts.envelope import CloudEvent

        wanted = {(t, k): topic for topic, t, k in expected}
        keys = {k for _, _, k in expected}
        found: dict[str, dict[str, Any]] = {}
        consumer = AIOKafkaConsumer(
            *sorted({topic for topic, _, _ in expected}),
            bootstrap_servers=self.bootstrap,
            group_id=f"test-{uuid.uuid4().hex}",
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            deadline = asyncio.get_running_loop().time() + within
            while wanted and asyncio.get_running_loop().time() < deadline:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        key = (record.key or b"").decode()
                        if key not in keys:  # the topics are shared with other tests' records
                            continue
                        event = CloudEvent.from_bytes(record.value or b"")
                        if wanted.pop((event.type, key), None) is not None:
                            found[event.type] = event.model_dump(mode="json")
        finally:
            await consumer.stop()
        assert not wanted, f"never reached Kafka: {sorted(wanted)}"
        return found


async def start_at_the_end(bootstrap: str, group: str, topics: Any) -> None:
    """Commit the group's offsets at the current end of ``topics``: it sees only this test's events."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from aintech_contracts.events import TOPICS

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for topic in topics for p in range(TOPICS[topic])]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        await consumer.commit({tp: await consumer.position(tp) for tp in partitions})
    finally:
        await consumer.stop()


@pytest.fixture
async def flow(committed: Api, app: FastAPI, kafka_bootstrap: str) -> AsyncIterator[Flow]:

    from aintech_shared.events.consumer import EventConsumer
    from aintech_shared.events.outbox import OutboxRelay
    from core_crm.consumers import consumer_specs
    from core_crm.core.base import MESSAGING
    from core_crm.core.runtime import build_runtime

    rt = build_runtime(crm_settings())
    db = app.state.db
    stop = asyncio.Event()
    run = uuid.uuid4().hex[:8]
    tasks = [
        asyncio.create_task(
            OutboxRelay(db, MESSAGING, bootstrap=kafka_bootstrap, idle_interval=0.2).run(stop)
        )
    ]
    for spec in consumer_specs(rt):
        spec = patient_consumer(spec, name=f"test-{run}-{spec.name}")
        await start_at_the_end(kafka_bootstrap, spec.name, spec.topics)
        consumer = EventConsumer(spec, db=db, tables=MESSAGING, bootstrap=kafka_bootstrap)
        tasks.append(asyncio.create_task(consumer.run(stop)))
    try:
        yield Flow(api=committed, db=db, rt=rt, bootstrap=kafka_bootstrap)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
