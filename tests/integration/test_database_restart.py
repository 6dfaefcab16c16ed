"""A Postgres restart under a running service: no pre-ping, yet no outage.

Runs a dedicated embedded Postgres (so restarting it does not disturb the rest of the suite) and
an app built by the chassis with a read endpoint (ReadConnection) and a write endpoint (DbSession).
Idle pooled connections that the server closed are replaced at checkout without a failed
request; a request whose connection dies under it gets one 503 problem+json and the next one
succeeds on a fresh connection.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from fastapi import APIRouter
from httpx import ASGITransport, AsyncClient
from pydantic_settings import SettingsConfigDict
from sqlalchemy import Column, Identity, Integer, MetaData, Table, Text, func, select, text
from sqlalchemy.engine import make_url

from aintech_shared.app import create_service_app
from aintech_shared.db import Database, DbSession, ReadConnection
from aintech_shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "local"))
import infra  # noqa: E402

pytestmark = pytest.mark.slow

SHIFT = int(os.environ.get("AINTECH_STACK_PORT_SHIFT", "0") or 0)
PG_PORT = 25632 + SHIFT  # below the automatically assigned client ports, see deploy/local/stack.py
POOL = 3


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore")
    service_name: ClassVar[str] = "demo"
    db_schema: ClassVar[str] = "public"


@pytest.fixture(scope="module")
def postgres() -> Iterator[tuple[str, Path]]:
    data_dir = ROOT / ".local" / "test" / "restart-postgres"
    url = infra.start_postgres(data_dir, PG_PORT)
    try:
        async_url = make_url(url).set(drivername="postgresql+asyncpg")
        yield async_url.render_as_string(hide_password=False), data_dir
    finally:
        infra.stop_postgres(data_dir)


@pytest.fixture
async def service(postgres: tuple[str, Path]) -> AsyncIterator[tuple[AsyncClient, Database]]:
    url, _ = postgres
    db = Database(url, schema="public", pool_size=POOL)
    metadata = MetaData()
    notes = Table(
        f"restart_{uuid.uuid4().hex[:8]}",
        metadata,
        Column("id", Integer, Identity(), primary_key=True),
        Column("note", Text),
    )
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    router = APIRouter()

    @router.get("/notes")
    async def count(conn: ReadConnection, sleep: float = 0) -> dict[str, int]:
        if sleep:
            await conn.execute(text("SELECT pg_sleep(:s)"), {"s": sleep})
        return {"notes": int(await conn.scalar(select(func.count()).select_from(notes)) or 0)}

    @router.post("/notes", status_code=201)
    async def add(session: DbSession) -> dict[str, str]:
        await session.execute(notes.insert().values(note="kept"))
        return {"status": "added"}

    app = create_service_app(
        DemoSettings(), title="demo", description="demo", routers=[router], with_database=False
    )
    async with app.router.lifespan_context(app):
        app.state.db = db
        transport = ASGITransport(app=app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://demo", timeout=30) as client:
            yield client, db
    await db.dispose()


async def fill_pools(client: AsyncClient) -> None:
    """Open POOL connections in each pool (concurrent requests) and return them to the pool."""
    reads = await asyncio.gather(*(client.get("/notes", params={"sleep": 0.2}) for _ in range(POOL)))
    writes = await asyncio.gather(*(client.post("/notes") for _ in range(POOL)))
    assert [r.status_code for r in reads] == [200] * POOL
    assert [r.status_code for r in writes] == [201] * POOL


async def restart(data_dir: Path) -> None:
    await asyncio.to_thread(infra.stop_postgres, data_dir)
    await asyncio.to_thread(infra.start_postgres, data_dir, PG_PORT)


async def test_idle_pooled_connections_survive_a_restart_without_a_failed_request(
    service: tuple[AsyncClient, Database], postgres: tuple[str, Path]
) -> None:
    client, db = service
    await fill_pools(client)
    assert db.read_engine.pool.checkedin() == POOL and db.engine.pool.checkedin() == POOL  # type: ignore[attr-defined]
    before = (await client.get("/notes")).json()["notes"]

    await restart(postgres[1])

    statuses = []
    for _ in range(2 * POOL):
        statuses.append((await client.get("/notes")).status_code)
        statuses.append((await client.post("/notes")).status_code)
    assert statuses == [200, 201] * (2 * POOL), "every stale connection was replaced at checkout"
    assert (await client.get("/notes")).json()["notes"] == before + 2 * POOL


async def test_a_connection_lost_mid_query_costs_that_request_only(
    service: tuple[AsyncClient, Database], postgres: tuple[str, Path]
) -> None:
    client, db = service
    await fill_pools(client)
    in_flight = asyncio.create_task(client.get("/notes", params={"sleep": 30}))
    async with db.transaction() as session:  # wait for the slow query to be running, with a deadline
        for _ in range(200):
            running = await session.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'")
            )
            if running:
                break
            await asyncio.sleep(0.05)
        assert running, "the slow read never reached Postgres"

    await restart(postgres[1])

    lost = await in_flight
    assert lost.status_code == 503
    assert lost.headers["content-type"] == "application/problem+json"
    assert lost.headers["retry-after"] == "1"
    assert lost.json()["detail"] == "The database connection was lost; retry the request."

    failures = 0
    for _ in range(2 * POOL):
        for response in (await client.get("/notes"), await client.post("/notes")):
            assert response.status_code in (200, 201, 503)
            failures += response.status_code == 503
    assert failures <= 2 * POOL, "at most one failed request per pooled connection"
    assert [(await client.get("/notes")).status_code for _ in range(POOL)] == [200] * POOL
