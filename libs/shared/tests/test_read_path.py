"""The lean read path on real Postgres: read-only sessions, no transaction or ping round trips,
and the access line every request writes."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

import asyncpg
import pytest
from asyncpg.connection import LoggedQuery
from fastapi import APIRouter
from httpx import ASGITransport, AsyncClient
from pydantic import BaseModel
from pydantic_settings import SettingsConfigDict
from sqlalchemy import bindparam, event, func, select, text
from sqlalchemy.exc import DBAPIError

from aintech_devtools.testing import ScratchSchema, rolled_back
from aintech_shared.app import create_service_app, render_json
from aintech_shared.db import Database, DbSession, LeanSelect, ReadConnection, ReadSession
from aintech_shared.logging import flush_logs
from aintech_shared.settings import ServiceSettings

# What a transaction or a pre-ping sends on top of the statements themselves.
OVERHEAD = ("BEGIN", "COMMIT", "ROLLBACK", "PING")


class Recorder:
    """Every simple-protocol statement asyncpg sends on the pool's connections (BEGIN, COMMIT, pings)."""

    def __init__(self, db: Database) -> None:
        self.queries: list[str] = []
        for engine in (db.engine, db.read_engine):
            event.listen(engine.sync_engine, "connect", self._attach)
        self.db = db

    def _attach(self, dbapi_connection: Any, _: Any) -> None:
        dbapi_connection._connection.add_query_logger(self._log)

    def _log(self, record: LoggedQuery) -> None:
        words = record.query.strip().rstrip(";").split()
        self.queries.append(words[0].upper() if words else "PING")  # SQLAlchemy's ping is ";"

    async def overhead(self) -> list[str]:
        await asyncio.sleep(0)  # asyncpg hands records to loggers on the next loop iteration
        await asyncio.sleep(0)
        return [q for q in self.queries if q in OVERHEAD]


@pytest.fixture
async def db(scratch: ScratchSchema) -> AsyncIterator[Database]:
    """A fresh Database on the scratch schema, so its pools start empty and can be watched."""
    database = Database(scratch.url, schema=scratch.db.schema, pool_size=2)
    try:
        yield database
    finally:
        await database.dispose()


async def test_a_write_through_a_read_session_is_refused_by_postgres(
    db: Database, scratch: ScratchSchema
) -> None:
    ledger = scratch.ledger
    marker = f"read-only-{uuid.uuid4().hex[:8]}"
    async with db.read() as session:
        with pytest.raises(DBAPIError, match="read-only transaction"):
            await session.execute(ledger.insert().values(policy_id=marker))
    async with db.read_connection() as conn:
        with pytest.raises(DBAPIError, match="read-only transaction"):
            await conn.execute(text("UPDATE ledger SET seq = 1 WHERE policy_id = :p"), {"p": marker})
        with pytest.raises(DBAPIError, match="read-only transaction"):
            await conn.execute(select(ledger.c.id).with_for_update())
    async with db.transaction() as session:
        found = await session.scalar(select(func.count()).where(ledger.c.policy_id == marker))
    assert found == 0


async def test_reads_send_no_transaction_or_ping_round_trips(db: Database, scratch: ScratchSchema) -> None:
    recorder = Recorder(db)
    ledger = scratch.ledger
    async with db.transaction() as session:  # the write path: one transaction
        await session.execute(ledger.insert().values(policy_id="seen-by-reads"))
    assert await recorder.overhead() == ["BEGIN", "COMMIT"], "the recorder sees transaction statements"
    recorder.queries.clear()

    for _ in range(3):  # reuse pooled connections: a pre-ping would show up on every checkout
        async with db.read() as session:
            assert (await session.scalar(select(func.count()).select_from(ledger)) or 0) >= 1
        async with db.read_connection() as conn:
            assert (await conn.execute(select(ledger.c.policy_id).limit(1))).first() is not None
    assert await recorder.overhead() == []

    for _ in range(2):
        async with db.transaction() as session:
            await session.execute(select(1))
    assert await recorder.overhead() == ["BEGIN", "COMMIT", "BEGIN", "COMMIT"], "no ping before BEGIN"
    async with db.transaction() as session:
        await session.execute(ledger.delete().where(ledger.c.policy_id == "seen-by-reads"))


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore")
    service_name: ClassVar[str] = "demo"
    db_schema: ClassVar[str] = "demo"


async def test_read_dependencies_see_committed_rows_and_refuse_writes(scratch: ScratchSchema) -> None:
    ledger = scratch.ledger
    router = APIRouter()

    @router.post("/entries/{policy}", status_code=201)
    async def add(policy: str, session: DbSession) -> dict[str, str]:
        await session.execute(ledger.insert().values(policy_id=policy))
        return {"policy": policy}

    @router.get("/entries/{policy}")
    async def count(policy: str, conn: ReadConnection) -> dict[str, int]:
        found = await conn.scalar(select(func.count()).where(ledger.c.policy_id == policy))
        return {"count": int(found or 0)}

    @router.get("/sneaky/{policy}")
    async def sneaky(policy: str, session: ReadSession) -> dict[str, str]:
        await session.execute(ledger.insert().values(policy_id=policy))
        return {"written": policy}

    app = create_service_app(DemoSettings(), title="demo", description="demo", routers=[router])
    async with app.router.lifespan_context(app):
        app.state.db = scratch.db
        transport = ASGITransport(app=app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://demo") as client:
            policy = f"POL-{uuid.uuid4().hex[:6]}"
            assert (await client.post(f"/entries/{policy}")).status_code == 201
            assert (await client.get(f"/entries/{policy}")).json() == {"count": 1}
            refused = await client.get(f"/sneaky/{policy}")
            assert refused.status_code == 500
            assert refused.headers["content-type"] == "application/problem+json"
            assert (await client.get(f"/entries/{policy}")).json() == {"count": 1}


async def test_every_request_writes_one_access_line_with_ids_route_status_and_duration(
    capsys: pytest.CaptureFixture[str],
) -> None:
    router = APIRouter()

    @router.get("/policies/{policy_id}")
    async def policy(policy_id: str) -> dict[str, str]:
        return {"id": policy_id}

    app = create_service_app(
        DemoSettings(), title="demo", description="demo", routers=[router], with_database=False
    )
    flush_logs()  # lines are written by the log writer's thread
    capsys.readouterr()
    async with app.router.lifespan_context(app):
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://demo") as client:
            resp = await client.get("/policies/POL-7", headers={"x-correlation-id": "corr-1"})
            await client.get("/healthz")  # probes are not logged
    flush_logs()  # lines are written by the log writer's thread
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"http_request"' in line]
    assert len(lines) == 1
    line = lines[0]
    assert line["event"] == "http_request" and line["logger"] == "aintech.access"
    assert line["service"] == "demo" and line["level"] == "info" and line["timestamp"].endswith("Z")
    assert (line["method"], line["route"], line["path"], line["status"]) == (
        "GET",
        "/policies/{policy_id}",
        "/policies/POL-7",
        200,
    )
    assert line["request_id"] == resp.headers["x-request-id"] and line["correlation_id"] == "corr-1"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0


async def test_a_lean_select_sends_one_statement_on_the_read_pool_and_binds_by_name(
    db: Database, scratch: ScratchSchema
) -> None:
    ledger = scratch.ledger
    marker = f"lean-{uuid.uuid4().hex[:8]}"
    async with db.transaction() as session:
        await session.execute(ledger.insert().values([{"policy_id": marker, "seq": n} for n in (1, 2, 3)]))
    lean = LeanSelect(
        select(ledger.c.policy_id, ledger.c.seq)
        .where(ledger.c.seq >= bindparam("lowest"), ledger.c.policy_id == bindparam("policy"))
        .order_by(ledger.c.seq)
    )
    assert lean.names == ("lowest", "policy"), "parameters are bound by name, in the statement's order"
    recorder = Recorder(db)
    async with db.read_connection() as conn:  # connect first: the driver's set-up queries are not counted
        await conn.execute(select(1))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    recorder.queries.clear()
    async with db.read_connection() as conn:
        rows = await lean.fetch(conn, policy=marker, lowest=2)
        first = await lean.fetchrow(conn, policy=marker, lowest=3)
        missing = await lean.fetchrow(conn, policy=marker, lowest=9)
    assert [(r["policy_id"], r["seq"]) for r in rows] == [(marker, 2), (marker, 3)]
    assert first is not None and first["seq"] == 3 and missing is None
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert recorder.queries == ["SELECT"] * 3, "one statement per call, no transaction around it"
    async with db.transaction() as session:
        await session.execute(ledger.delete().where(ledger.c.policy_id == marker))


def test_render_json_writes_what_a_response_model_writes() -> None:
    class Row(BaseModel):
        id: uuid.UUID
        amount: Decimal
        at: datetime
        on: date
        tags: list[str]
        extra: dict[str, Any]
        note: str | None

    value = {
        "id": uuid.uuid4(),
        "amount": Decimal("420.50"),
        "at": datetime(2026, 11, 25, 18, 0, 0, 123456, tzinfo=UTC),
        "on": date(2026, 1, 1),
        "tags": ["vip", "ñandú"],
        "extra": {"nested": [1, "dos"]},
        "note": None,
    }
    assert json.loads(render_json(value)) == Row(**value).model_dump(mode="json")
    with pytest.raises(TypeError):
        render_json({"unknown": object()})


async def test_a_read_driver_reads_json_refuses_writes_skips_the_reset_and_closes_with_the_database(
    db: Database, scratch: ScratchSchema
) -> None:
    ledger = scratch.ledger
    marker = f"driver-{uuid.uuid4().hex[:8]}"
    async with db.transaction() as session:
        await session.execute(ledger.insert().values(policy_id=marker, seq=1))
    lean = LeanSelect(select(ledger.c.policy_id, ledger.c.seq).where(ledger.c.policy_id == bindparam("p")))
    sent: list[str] = []
    async with db.read_driver() as driver:
        raw = driver._con  # the pooled connection under asyncpg's proxy
        raw.add_query_logger(lambda record: sent.append(record.query))
        row = await lean.fetchrow(driver, p=marker)
        assert (row["policy_id"], row["seq"]) == (marker, 1)
        assert await driver.fetchval("""SELECT '{"a": [1, "dos"]}'::jsonb""") == {"a": [1, "dos"]}
        assert await driver.fetchval("SELECT '[1, null]'::json") == [1, None]
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await driver.execute("INSERT INTO ledger (policy_id) VALUES ($1)", marker)
    async with db.read_driver() as again:
        assert again._con is raw, "the released connection is handed out again"
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert len(sent) == 4 and sent[-1].startswith("INSERT"), sent
    assert not any("RESET" in query or "UNLISTEN" in query for query in sent), "no reset on release"

    async with rolled_back(db) as conn:  # the test helper's binding: the driver sees its rows
        await conn.execute(ledger.insert().values(policy_id=f"{marker}-unseen-outside"))
        async with db.read_driver() as driver:
            assert (
                await driver.fetchval(
                    "SELECT count(*) FROM ledger WHERE policy_id = $1", f"{marker}-unseen-outside"
                )
                == 1
            )

    pool = db._driver_pool
    assert pool is not None
    await db.dispose()
    assert pool.is_closing() and db._driver_pool is None
    async with db.transaction() as session:
        await session.execute(ledger.delete().where(ledger.c.policy_id == marker))
