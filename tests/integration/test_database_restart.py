"""A Postgres restart under a running service: no pre-ping, yet no outage.

Runs a dedicated embedded Postgres (so restarting it does not disturb the rest of the suite) and
an app built by the chassis with a read endpoint (ReadConnection) and a write endpoint (DbSession).
Idle pooled connections that the server closed are replaced at checkout without a failed
request; a request whose connection dies under it gets one 503 problem+json and the next one
succeeds on a fresh connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import uvicorn
from fastapi import APIRouter
from httpx import ASGITransport, AsyncClient
from pydantic_settings import SettingsConfigDict
from sqlalchemy import Column, Identity, Integer, MetaData, Table, Text, func, select, text
from sqlalchemy.engine import make_url
from starlette.responses import JSONResponse
from starlette.routing import Route

from aintech_contracts.fleet import BY_NAME
from aintech_contracts.rbac import Role
from aintech_devtools.testing import TestKeys
from aintech_shared.app import create_service_app
from aintech_shared.db import Database, DbSession, ReadConnection
from aintech_shared.serve import config
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
    # Wait for the slow query to be running, with a deadline. Each look is its own transaction:
    # Postgres keeps one snapshot of pg_stat_activity per transaction, so a look inside one
    # transaction would never see a query that started after its first look.
    running = 0
    for _ in range(200):
        async with db.transaction() as session:
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


# --- the outage seen from outside: through a real gateway, under load --------------------------

OUTAGE_SECONDS = 10
CREATORS = 6
ISSUER, AUDIENCE = "https://auth.aintech.local", "aintech-api"


def _free_offset() -> int:
    """A port offset at which the authenticator's and core-crm's ports are both free."""
    for offset in range(31000 + SHIFT * 3, 60000 - 9000, 97):
        ports = [BY_NAME[name].port + offset for name in ("authenticator", "core_crm")]
        try:
            for port in ports:
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return offset
    raise RuntimeError("no free port block")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def behind_gateway(
    service: tuple[AsyncClient, Database], kafka_bootstrap: str, tmp_path: Path
) -> AsyncIterator[tuple[str, dict[str, str], str]]:
    """The demo app served as core-crm (the chassis' uvicorn configuration) behind a gateway
    process; yields the gateway URL, an agent's auth header and the service's own URL."""
    client, _ = service
    app = client._transport.app  # type: ignore[attr-defined]
    keys = TestKeys(issuer=ISSUER, audience=AUDIENCE)

    async def jwks(_: Any) -> JSONResponse:
        return JSONResponse(keys.jwks())

    app.router.routes.insert(0, Route("/.well-known/jwks.json", jwks))
    offset = _free_offset()
    sockets = []
    for name in ("authenticator", "core_crm"):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", BY_NAME[name].port + offset))
        sockets.append(sock)
    server = uvicorn.Server(config(app, DemoSettings(), lifespan="off", loop="asyncio"))
    serving = asyncio.create_task(server.serve(sockets=sockets))
    port, auth_port = _free_port(), BY_NAME["authenticator"].port + offset
    env = {
        **os.environ,
        "AINTECH_ENV": "test",
        "AINTECH_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "AINTECH_JWKS_URL": f"http://127.0.0.1:{auth_port}/.well-known/jwks.json",
        "AINTECH_JWT_ISSUER": ISSUER,
        "AINTECH_JWT_AUDIENCE": AUDIENCE,
        "AINTECH_IDENTITY_SECRET": "outage-drill-identity-secret-0123456789",
        "AINTECH_LOG_LEVEL": "WARNING",
        "GATEWAY_PORT": str(port),
        "GATEWAY_PORT_OFFSET": str(offset),
        "GATEWAY_RATE_LIMITS": json.dumps({"anonymous": "100000/minute", "user": "100000/minute"}),
    }
    log_path = tmp_path / "gateway.log"
    with log_path.open("wb") as log:
        proc = await asyncio.to_thread(
            subprocess.Popen,
            [sys.executable, "-m", "gateway"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    gateway = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {keys.token(role=Role.agent)}"}
    try:
        async with AsyncClient(base_url=gateway, timeout=5) as probe:
            for _ in range(900):  # until the gateway forwards (its revocation feed caught up)
                assert proc.poll() is None, log_path.read_text(errors="replace")[-3000:]
                with contextlib.suppress(httpx.HTTPError):
                    if (await probe.post("/api/crm/notes", headers=auth)).status_code == 201:
                        break
                await asyncio.sleep(0.2)
            else:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise AssertionError(f"the gateway never forwarded:\n{tail}")
        yield gateway, auth, f"http://127.0.0.1:{BY_NAME['core_crm'].port + offset}"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        server.should_exit = True
        await serving


async def test_a_database_outage_is_503_with_retry_after_through_the_gateway_never_500(
    behind_gateway: tuple[str, dict[str, str], str], postgres: tuple[str, Path]
) -> None:
    gateway, auth, direct = behind_gateway
    answers: list[httpx.Response] = []
    stop, flowing, recovered, refused_during = (asyncio.Event() for _ in range(4))
    down = False

    async def create(client: AsyncClient) -> None:  # customers being created, one after another
        while not stop.is_set():
            answer = await client.post("/api/crm/notes", headers=auth)
            answers.append(answer)
            if sum(a.status_code == 201 for a in answers) >= 30:
                flowing.set()
            if down and answer.status_code == 503:
                refused_during.set()
            if not down and refused_during.is_set() and answer.status_code == 201:
                recovered.set()

    async with AsyncClient(base_url=gateway, timeout=30) as client, AsyncClient(timeout=10) as probe:
        creators = [asyncio.create_task(create(client)) for _ in range(CREATORS)]
        try:
            await asyncio.wait_for(flowing.wait(), 60)  # the load is flowing
            await asyncio.to_thread(infra.stop_postgres, postgres[1])
            down = True
            await asyncio.sleep(OUTAGE_SECONDS / 2)  # the outage itself
            ready = await probe.get(f"{direct}/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["database"]["ok"] is False
            gateway_ready = await probe.get(f"{gateway}/readyz")
            assert gateway_ready.status_code == 503, gateway_ready.text
            crm = gateway_ready.json()["services"]["core-crm"]
            assert crm["ready"] is False and crm["checks"]["database"] == {"ok": False}, crm
            await asyncio.sleep(OUTAGE_SECONDS / 2)
            await asyncio.to_thread(infra.start_postgres, postgres[1], PG_PORT)
            down = False
            await asyncio.wait_for(recovered.wait(), 60)  # back to normal
        finally:
            stop.set()
            await asyncio.gather(*creators)
            await asyncio.to_thread(infra.start_postgres, postgres[1], PG_PORT)  # (no-op when up)

    statuses = Counter(r.status_code for r in answers)
    assert set(statuses) <= {201, 503}, f"answers during the outage: {dict(statuses)}"
    refused = [r for r in answers if r.status_code == 503]
    assert refused, f"the outage was never noticed: {dict(statuses)}"
    for response in refused:
        assert response.headers["content-type"] == "application/problem+json"
        assert int(response.headers["retry-after"]) >= 1
        assert response.json()["detail"] in (
            "The database is unreachable; retry shortly.",
            "The database connection was lost; retry the request.",
        )
    assert statuses[201] > 30
