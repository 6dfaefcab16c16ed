# ruff: noqa: S608 - statements built from the scratch schema's table names
"""An event staged inside the caller's own statement (``Outbox.inline_sql``, run on the session's
driver connection from ``transaction_driver``) is the row ``publish`` writes, relayed alike; it holds
its key's lock until the transaction ends, commits and rolls back with the caller's write, and is
not staged when the caller's write produced no row."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from aintech_contracts.events import EventData, dead_letter_topic
from aintech_devtools.testing import ScratchSchema
from aintech_shared.db import Database, transaction_driver
from aintech_shared.events.outbox import Outbox, OutboxRelay
from aintech_shared.events.tables import MessagingTables

from .conftest import create_topics
from .test_messaging import drain

RUN = uuid.uuid4().hex[:8]
TOPIC = f"test.inline.{RUN}"


class LedgerWritten(EventData, catalogued=False):
    event_type = f"ledger.written.{RUN}"
    topic = TOPIC
    policy_id: str
    seq: int


async def _empty(scratch: ScratchSchema) -> None:
    async with scratch.db.transaction() as s:
        await s.execute(scratch.tables.outbox.delete())
        await s.execute(scratch.ledger.delete())


@pytest.fixture
async def clean(scratch: ScratchSchema) -> AsyncIterator[ScratchSchema]:
    """The session's scratch schema with an empty outbox and ledger (other tests of the session
    leave rows in the ledger), emptied again after the test."""
    await _empty(scratch)
    yield scratch
    await _empty(scratch)


def _statement(scratch: ScratchSchema, outbox: Outbox, *, write: bool) -> str:
    ledger = scratch.ledger.fullname
    mine = (
        f"INSERT INTO {ledger} (policy_id, seq) VALUES ($1, $2) RETURNING id"
        if write
        else f"SELECT id FROM {ledger} WHERE policy_id = $1 AND seq = $2 AND false"
    )
    return f"WITH mine AS ({mine}), {outbox.inline_sql(first=3, after='mine')} SELECT seq FROM outbox_row"


async def _stage(db: Database, scratch: ScratchSchema, outbox: Outbox, policy: str, n: int) -> Any:
    async with db.transaction() as session:
        conn = await transaction_driver(session)
        event, args = outbox.inline_args(LedgerWritten(policy_id=policy, seq=n), key=policy)
        await conn.fetchval(_statement(scratch, outbox, write=True), policy, n, *args)
        return event


async def _rows(db: Database, tables: MessagingTables) -> list[Any]:
    async with db.transaction() as session:
        outbox = tables.outbox
        query = select(outbox.c.topic, outbox.c.key, outbox.c.event_type, outbox.c.payload, outbox.c.headers)
        return list((await session.execute(query.order_by(outbox.c.seq))).all())


async def test_an_inline_event_is_the_row_publish_writes_and_is_relayed(
    clean: ScratchSchema, kafka_bootstrap: str
) -> None:
    await create_topics(kafka_bootstrap, {TOPIC: 3, dead_letter_topic(TOPIC): 1})
    db, tables = clean.db, clean.tables
    outbox = Outbox(tables, source="tests")
    policy = f"POL-{RUN}"
    async with db.transaction() as session:
        published = await outbox.publish(session, LedgerWritten(policy_id=policy, seq=0), key=policy)
    inline = await _stage(db, clean, outbox, policy, 1)
    by_publish, by_inline = await _rows(db, tables)
    assert by_inline.topic == by_publish.topic == TOPIC and by_inline.key == by_publish.key == policy
    assert by_inline.event_type == by_publish.event_type and by_inline.headers == by_publish.headers
    assert set(by_inline.payload) == set(by_publish.payload)
    assert by_inline.payload["data"] == {"policy_id": policy, "seq": 1}
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(clean.ledger)) == 1

    stop = asyncio.Event()
    relay = asyncio.create_task(OutboxRelay(db, tables, bootstrap=kafka_bootstrap).run(stop))
    try:
        events = await drain(kafka_bootstrap, TOPIC, expected=2)
    finally:
        stop.set()
        await relay
    assert [e.id for e in events] == [published.id, inline.id]
    assert events[1].data == {"policy_id": policy, "seq": 1} and events[1].subject == policy


async def test_an_inline_event_holds_its_keys_lock_until_the_transaction_ends(clean: ScratchSchema) -> None:
    db, outbox = clean.db, Outbox(clean.tables, source="tests")
    policy = f"POL-{RUN}-lock"
    args: list[Any] = []

    async def lock_free() -> bool:
        async with db.engine.connect() as other:
            driver = (await other.get_raw_connection()).driver_connection
            assert driver is not None
            return bool(
                await driver.fetchval(
                    "SELECT pg_try_advisory_xact_lock($1::int4, hashtext($2::text))", *args[:2]
                )
            )

    async with db.transaction() as session:
        conn = await transaction_driver(session)
        _, args = outbox.inline_args(LedgerWritten(policy_id=policy, seq=1), key=policy)
        await conn.fetchval(_statement(clean, outbox, write=True), policy, 1, *args)
        assert await lock_free() is False, "a second writer of the key waits for this transaction"
    assert await lock_free() is True


async def test_an_inline_event_rolls_back_with_the_callers_write_and_needs_its_row(
    clean: ScratchSchema,
) -> None:
    db, tables, outbox = clean.db, clean.tables, Outbox(clean.tables, source="tests")
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            conn = await transaction_driver(session)
            _, args = outbox.inline_args(LedgerWritten(policy_id="P-1", seq=1), key="P-1")
            await conn.fetchval(_statement(clean, outbox, write=True), "P-1", 1, *args)
            raise RuntimeError("business rule failed")
    async with db.transaction() as session:
        conn = await transaction_driver(session)
        _, args = outbox.inline_args(LedgerWritten(policy_id="P-2", seq=2), key="P-2")
        assert await conn.fetchval(_statement(clean, outbox, write=False), "P-2", 2, *args) is None
    assert await _rows(db, tables) == []
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(clean.ledger)) == 0
