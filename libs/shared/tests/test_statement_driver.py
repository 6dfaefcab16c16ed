# ruff: noqa: S608 - statements built from the scratch schema's table names
"""``statement_driver``: a statement on a session that has not begun a transaction stands alone
(committed when it returns, no BEGIN/COMMIT), one on a session that has is part of its transaction;
``Outbox.inline_args`` writes the payload once, or takes it already written (``data_json``)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import orjson
import pytest
from sqlalchemy import func, select

from aintech_contracts.events import EventData
from aintech_devtools.testing import ScratchSchema
from aintech_shared.db import statement_driver
from aintech_shared.events.outbox import Outbox

RUN = uuid.uuid4().hex[:8]


class NoteWritten(EventData, catalogued=False):
    event_type = f"note.written.{RUN}"
    topic = f"test.statement.{RUN}"
    policy_id: str
    note: str | None = None


class Refused(Exception):
    """Raised to end a session with a rollback."""


async def _empty(scratch: ScratchSchema) -> None:
    async with scratch.db.transaction() as s:
        await s.execute(scratch.tables.outbox.delete())
        await s.execute(scratch.ledger.delete())


@pytest.fixture
async def clean(scratch: ScratchSchema) -> AsyncIterator[ScratchSchema]:
    await _empty(scratch)
    yield scratch
    await _empty(scratch)


def _write(scratch: ScratchSchema, outbox: Outbox) -> str:
    ledger = scratch.ledger.fullname
    mine = f"INSERT INTO {ledger} (policy_id, seq) VALUES ($1, $2) RETURNING id"
    return f"WITH mine AS ({mine}), {outbox.inline_sql(first=3, after='mine')} SELECT seq FROM outbox_row"


async def _count(scratch: ScratchSchema, policy: str) -> tuple[int, int]:
    """(ledger rows, outbox rows) of ``policy``, as another connection sees them now."""
    async with scratch.db.engine.connect() as other:
        ledger = await other.scalar(
            select(func.count()).select_from(scratch.ledger).where(scratch.ledger.c.policy_id == policy)
        )
        outbox = await other.scalar(
            select(func.count())
            .select_from(scratch.tables.outbox)
            .where(scratch.tables.outbox.c.key == policy)
        )
    return int(ledger or 0), int(outbox or 0)


async def test_a_statement_on_a_session_with_no_transaction_commits_alone_and_stays(
    clean: ScratchSchema,
) -> None:
    outbox, policy = Outbox(clean.tables, source="tests"), f"POL-{RUN}-alone"
    with pytest.raises(Refused):
        async with clean.db.transaction() as session:
            conn = await statement_driver(session)
            assert not conn.is_in_transaction()  # no BEGIN was sent for it
            _, args = outbox.inline_args(NoteWritten(policy_id=policy), key=policy)
            await conn.fetchval(_write(clean, outbox), policy, 1, *args)
            assert not conn.is_in_transaction()
            assert await _count(clean, policy) == (1, 1)  # committed as it returned
            raise Refused
    # The session's rollback has nothing to undo: the statement was its own transaction.
    assert await _count(clean, policy) == (1, 1)


async def test_a_statement_after_the_session_began_is_part_of_its_transaction(clean: ScratchSchema) -> None:
    outbox, policy = Outbox(clean.tables, source="tests"), f"POL-{RUN}-joined"
    with pytest.raises(Refused):
        async with clean.db.transaction() as session:
            await session.execute(select(1))  # the session's transaction has begun
            conn = await statement_driver(session)
            assert conn.is_in_transaction()
            _, args = outbox.inline_args(NoteWritten(policy_id=policy), key=policy)
            await conn.fetchval(_write(clean, outbox), policy, 1, *args)
            assert await _count(clean, policy) == (0, 0)  # not visible before the commit
            raise Refused
    assert await _count(clean, policy) == (0, 0)  # rolled back with the session
    async with clean.db.transaction() as session:
        await session.execute(select(1))
        conn = await statement_driver(session)
        _, args = outbox.inline_args(NoteWritten(policy_id=policy), key=policy)
        await conn.fetchval(_write(clean, outbox), policy, 2, *args)
    assert await _count(clean, policy) == (1, 1)


async def test_an_inline_envelope_holds_the_payload_as_publish_writes_it_given_or_prewritten(
    clean: ScratchSchema,
) -> None:
    outbox, policy = Outbox(clean.tables, source="tests"), f"POL-{RUN}-envelope"
    payload = NoteWritten(policy_id=policy, note=None)  # a null inside data is kept, not stripped
    async with clean.db.transaction() as session:
        published = await outbox.publish(session, payload, key=policy)
    expected = published.model_dump(mode="json", exclude_none=True)
    assert expected["data"] == {"policy_id": policy, "note": None}
    given, args = outbox.inline_args(payload, key=policy)
    prewritten, args_of_text = outbox.inline_args(
        NoteWritten, key=policy, data_json=orjson.dumps({"policy_id": policy, "note": None})
    )
    for event, staged in ((given, args), (prewritten, args_of_text)):
        document = orjson.loads(staged[7])
        assert document["id"] == event.id and staged[3] == event.id
        for varying in ("id", "time"):
            document.pop(varying), expected.pop(varying, None)
        assert document == expected
        assert staged[4] == NoteWritten.topic and staged[6] == NoteWritten.event_type
    with pytest.raises(TypeError):
        outbox.inline_args(NoteWritten, key=policy)
