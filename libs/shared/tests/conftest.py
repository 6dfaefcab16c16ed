"""Fixtures for the shared library: a scratch schema with the messaging tables, Kafka topics."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from aintech_devtools.testing import ScratchSchema, scratch_schema


@pytest.fixture(scope="session")
async def scratch(admin_database_url: str) -> AsyncIterator[ScratchSchema]:
    """The messaging tables the service migrations create, plus a ``ledger`` for test effects."""
    async with scratch_schema(admin_database_url, "shared_test") as schema:
        yield schema


async def create_topics(bootstrap: str, topics: dict[str, int]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, n, 1) for t, n in topics.items()])
    finally:
        await admin.close()


@pytest.fixture
async def outbox_emptied_after(scratch: ScratchSchema) -> AsyncIterator[ScratchSchema]:
    """The session's scratch schema, its outbox emptied after the test (other tests count rows)."""
    yield scratch
    async with scratch.db.transaction() as session:
        await session.execute(scratch.tables.outbox.delete())
