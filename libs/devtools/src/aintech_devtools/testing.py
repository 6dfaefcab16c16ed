"""Test helpers: rolled-back and committed databases, scratch schemas, RSA keys and signed tokens."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import jwt
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Column, Identity, Integer, Table, Text, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from aintech_contracts.envelope import KAFKA_HEADERS, CloudEvent
from aintech_contracts.events import EventData
from aintech_contracts.fleet import BY_NAME
from aintech_contracts.rbac import Role, permissions_for
from aintech_shared.auth import JWKSCache, TokenVerifier
from aintech_shared.db import Database, schema_metadata
from aintech_shared.events.consumer import ConsumerSpec
from aintech_shared.events.tables import MessagingTables, messaging_tables
from aintech_shared.provisioning import provision


@asynccontextmanager
async def rolled_back(db: Database) -> AsyncIterator[AsyncConnection]:
    """Bind ``db`` to one connection inside a transaction that is rolled back afterwards.

    Every session the code under test opens joins that transaction through savepoints, so its
    commits are real (constraints, triggers, RETURNING) yet leave nothing behind. Read sessions
    join it too (so they see the test's rows); their read-only refusal is tested on its own.
    """
    original, original_read, original_connect = db.sessionmaker, db.read_sessionmaker, db.read_connect

    @asynccontextmanager
    async def joined(conn: AsyncConnection) -> AsyncIterator[AsyncConnection]:
        async with conn.begin_nested():
            yield conn

    async with db.engine.connect() as conn:
        outer = await conn.begin()
        db.read_connect = lambda: joined(conn)
        db.sessionmaker = db.read_sessionmaker = async_sessionmaker(
            bind=conn,
            class_=AsyncSession,
            expire_on_commit=False,
            autoflush=False,
            join_transaction_mode="create_savepoint",
        )
        try:
            yield conn
        finally:
            db.sessionmaker, db.read_sessionmaker, db.read_connect = original, original_read, original_connect
            await outer.rollback()


class TestKeys:
    """An RSA key pair standing in for the authenticator in tests of other services."""

    __test__ = False

    def __init__(self, *, issuer: str, audience: str, kid: str | None = None) -> None:
        self.issuer = issuer
        self.audience = audience
        self.kid = kid or uuid.uuid4().hex[:16]
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def verifier(self) -> TokenVerifier:
        cache = JWKSCache("http://127.0.0.1:9/unused")
        cache.set_keys(self.jwks())
        cache.ttl = float("inf")
        return TokenVerifier(cache, issuer=self.issuer, audience=self.audience)

    def token(
        self,
        *,
        role: Role = Role.agent,
        sub: str | None = None,
        expires_in: int = 900,
        headers: dict[str, Any] | None = None,
        extra_claims: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": sub or str(uuid.uuid4()),
            "email": f"{role.value}@aintech.test",
            "role": role.value,
            "permissions": permissions_for(role),
            "sid": str(uuid.uuid4()),
            "iat": now,
            "exp": now + expires_in,
            "iss": self.issuer,
            "aud": self.audience,
            "typ": "access",
        }
        claims.update(overrides)
        claims.update(extra_claims or {})
        return jwt.encode(
            claims, self.private_key, algorithm="RS256", headers={"kid": self.kid, **(headers or {})}
        )


@dataclass(frozen=True)
class ScratchSchema:
    """A throw-away schema with the messaging tables and a ``ledger`` for handlers' effects."""

    db: Database
    url: str
    tables: MessagingTables
    ledger: Table


@asynccontextmanager
async def scratch_schema(admin_url: str, prefix: str, *, pool_size: int = 8) -> AsyncIterator[ScratchSchema]:
    """Create a uniquely named schema holding the tables the service migrations create (outbox,
    processed events, scheduled jobs) plus ``ledger(id, event_id, policy_id, seq)``; drop it after."""
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    url = make_url(admin_url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    db = Database(url, schema=schema, pool_size=pool_size)
    metadata = schema_metadata(schema)
    tables = messaging_tables(metadata)
    ledger = Table(
        "ledger",
        metadata,
        Column("id", Integer, Identity(), primary_key=True),
        Column("event_id", Text, nullable=True),
        Column("policy_id", Text, nullable=False),
        Column("seq", Integer, nullable=True),
    )
    async with db.engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        await conn.run_sync(metadata.create_all)
    try:
        yield ScratchSchema(db=db, url=url, tables=tables, ledger=ledger)
    finally:
        async with db.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await db.dispose()


async def publish_event(
    bootstrap: str, payload: EventData, *, key: str, source: str, subject: str | None = None
) -> CloudEvent:
    """Put ``payload`` on its topic exactly as a service's outbox relay would (structured-mode
    CloudEvent, key = aggregate id), for tests of consumers fed by another service."""
    event = CloudEvent.wrap(
        payload, type_=payload.event_type, source=source, subject=subject or key, partitionkey=key
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(payload.topic, event.to_bytes(), key=key.encode(), headers=KAFKA_HEADERS)
    finally:
        await producer.stop()
    return event


# A consumer in a test shares its event loop with the app, the relay and the test itself, on a CI
# machine that may be loaded: a heartbeat starved past production's 20 s session timeout would cost
# a rebalance (and a re-join) in the middle of the test.
TEST_SESSION_TIMEOUT = 60.0


def patient_consumer(spec: ConsumerSpec, *, name: str | None = None) -> ConsumerSpec:
    """``spec`` for a consumer run inside a test: its own group ``name`` if given, and a session
    timeout that survives a loaded machine (what it consumes and how it retries are unchanged)."""
    return replace(spec, name=name or spec.name, session_timeout=TEST_SESSION_TIMEOUT)


async def find_event(
    bootstrap: str, topic: str, match: Callable[[CloudEvent], bool], *, within: float = 60.0
) -> tuple[CloudEvent, bytes | None] | None:
    """Read ``topic`` from the beginning with a fresh group until an event matches; (event, key)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"test-{uuid.uuid4().hex}", auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=250)
            for records in batch.values():
                for record in records:
                    event = CloudEvent.from_bytes(record.value or b"")
                    if match(event):
                        return event, record.key
    finally:
        await consumer.stop()
    return None


@dataclass(frozen=True)
class CommittedDatabase:
    """A throw-away database holding one service's schema at its migration head.

    Unlike :func:`rolled_back`, the code under test commits for real on as many pooled
    connections as it likes, so row locks, unique indexes and ``FOR UPDATE`` are really
    contended. ``engine`` is an administrator engine on the same database for arranging data,
    holding locks and checking results.
    """

    url: str
    schema: str
    engine: AsyncEngine

    async def wait_for_lock_waiters(self, count: int, *, within: float = 30.0) -> None:
        """Return once ``count`` sessions of this database are waiting on a lock; fail after ``within``."""
        deadline = time.monotonic() + within
        waiting = 0
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            while time.monotonic() < deadline:
                waiting = int(
                    await conn.scalar(
                        text(
                            "SELECT count(*) FROM pg_stat_activity"
                            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                        )
                    )
                    or 0
                )
                if waiting >= count:
                    return
                await asyncio.sleep(0.01)
        raise AssertionError(f"expected {count} sessions waiting on a lock within {within}s, saw {waiting}")

    async def clear(self, *, keep: Sequence[str] = ()) -> None:
        """Delete every row the test left in the service's tables (the migration history stays)."""
        async with self.engine.begin() as conn:
            tables = [
                row[0]
                for row in await conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": self.schema}
                )
                if row[0] not in {"alembic_version", *keep}
            ]
            if tables:
                names = ", ".join(f'"{self.schema}"."{t}"' for t in tables)
                await conn.execute(text(f"TRUNCATE {names} CASCADE"))


@asynccontextmanager
async def committed_database(
    admin_url: str, *, service: str, alembic_ini: Path
) -> AsyncIterator[CommittedDatabase]:
    """Create a database on the test cluster, provision ``service``'s schema and role in it, run the
    service's migrations to head (as ``make migrate`` does) and drop the database afterwards.

    Point the service's settings at ``CommittedDatabase.url`` (``AINTECH_DATABASE_URL``) to run
    its app against it.
    """
    spec = BY_NAME[service]
    name = f"scratch_{spec.schema}_{uuid.uuid4().hex[:8]}"
    base = make_url(admin_url)
    plain = base.set(drivername="postgresql").render_as_string(hide_password=False)
    url = base.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    admin = await asyncpg.connect(plain)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    engine: AsyncEngine | None = None
    try:
        await provision(url, (spec,))
        migrated = await anyio.run_process(
            [sys.executable, "-m", "alembic", "-c", str(alembic_ini), "upgrade", "head"],
            env={**os.environ, "AINTECH_DATABASE_URL": url},
            check=False,
        )
        if migrated.returncode != 0:
            raise RuntimeError("migrations failed:\n" + migrated.stderr.decode(errors="replace"))
        engine = create_async_engine(
            base.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False),
            pool_size=4,
        )
        yield CommittedDatabase(url=url, schema=spec.schema, engine=engine)
    finally:
        if engine is not None:
            await engine.dispose()
        admin = await asyncpg.connect(plain)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@asynccontextmanager
async def uvicorn_serving(server: uvicorn.Server, *, within: float = 30) -> AsyncIterator[int]:
    """Run a configured uvicorn ``server`` in this event loop; yields the port it listens on once
    it accepts connections, and shuts it down on exit."""
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(within):
        while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
            await asyncio.sleep(0.01)
    try:
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        await task
