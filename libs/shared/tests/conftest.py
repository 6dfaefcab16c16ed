"""Fixtures for the shared library: a scratch schema with the messaging tables, Kafka topics."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import Column, Identity, Integer, Table, Text, text
from sqlalchemy.engine import make_url

from aintech_shared.db import Database, schema_metadata
from aintech_shared.events.tables import MessagingTables, messaging_tables


@pytest.fixture(scope="session")
async def messaging_db(admin_database_url: str) -> AsyncIterator[tuple[Database, MessagingTables]]:
    """A throw-away schema holding the same messaging tables the service migrations create,
    plus a ``ledger`` table that test handlers write their effects to."""
    schema = f"shared_test_{uuid.uuid4().hex[:8]}"
    url = make_url(admin_database_url).set(drivername="postgresql+asyncpg").render_as_string(False)
    db = Database(url, schema=schema, pool_size=8)
    metadata = schema_metadata(schema)
    tables = messaging_tables(metadata)
    Table(
        "ledger",
        metadata,
        Column("id", Integer, Identity(), primary_key=True),
        Column("policy_id", Text, nullable=False),
        Column("seq", Integer, nullable=False),
    )
    async with db.engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        await conn.run_sync(metadata.create_all)
    try:
        yield db, tables
    finally:
        async with db.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await db.dispose()


async def create_topics(bootstrap: str, topics: dict[str, int]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, n, 1) for t, n in topics.items()])
    finally:
        await admin.close()
