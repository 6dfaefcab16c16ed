"""An unreachable database or broker is 503 problem+json with Retry-After; a bug stays a 500."""

from __future__ import annotations

import asyncio
import socket

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from aiokafka.errors import KafkaConnectionError
from fastapi import FastAPI
from sqlalchemy.exc import TimeoutError as PoolTimeout

from aintech_devtools.testing import ScratchSchema
from aintech_shared.app import create_service_app
from aintech_shared.errors import unreachable_dependency
from aintech_shared.settings import ServiceSettings


class DemoSettings(ServiceSettings, service="core_crm"):
    pass


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nobody listens once the socket is closed


async def _refused_by_postgres() -> BaseException:
    try:
        await asyncpg.connect(host="127.0.0.1", port=_closed_port(), user="x", timeout=5)
    except BaseException as exc:
        return exc
    raise AssertionError("connected to a closed port")


async def test_what_counts_as_an_unreachable_dependency() -> None:
    refused = await _refused_by_postgres()
    assert isinstance(refused, OSError)
    assert unreachable_dependency(refused) == "database", "a bare OSError raised inside asyncpg"
    assert unreachable_dependency(PoolTimeout("QueuePool limit reached")) == "database"
    assert unreachable_dependency(KafkaConnectionError("no broker")) == "message broker"
    assert unreachable_dependency(ConnectionRefusedError(111, "refused")) == "dependency"
    assert unreachable_dependency(FileNotFoundError("report.pdf")) is None
    assert unreachable_dependency(ValueError("bad")) is None
    assert unreachable_dependency(asyncpg.UniqueViolationError("dup")) is None


@pytest.fixture
def app() -> FastAPI:
    app = create_service_app(DemoSettings(), title="demo", description="demo", with_database=False)

    @app.post("/customers")
    async def create() -> None:
        await asyncpg.connect(host="127.0.0.1", port=_closed_port(), user="x", timeout=5)

    @app.post("/events")
    async def publish() -> None:
        raise KafkaConnectionError("Unable to bootstrap from [('127.0.0.1', 9)]")

    @app.get("/bug")
    async def bug() -> None:
        raise FileNotFoundError("a file our code expected")

    return app


async def test_an_outage_is_503_with_retry_after_and_a_bug_500(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
        for path, what in (("/customers", "database"), ("/events", "message broker")):
            response = await client.post(path)
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["retry-after"] == "5"
            assert response.json()["detail"] == f"The {what} is unreachable; retry shortly."
        bug = await client.get("/bug")
        assert bug.status_code == 500 and "retry-after" not in bug.headers


async def test_a_request_rolled_back_by_a_real_deadlock_is_503_retry_not_500(scratch: ScratchSchema) -> None:
    """Two requests lock the same two rows in opposite orders on two connections; Postgres kills
    one of them (40P01). That one is told to retry (503, Retry-After), nothing of it applied."""
    ledger = scratch.ledger
    async with scratch.db.transaction() as session:
        await session.execute(sa.delete(ledger).where(ledger.c.policy_id.in_(["lock-a", "lock-b"])))
        await session.execute(
            sa.insert(ledger), [{"policy_id": "lock-a", "seq": 0}, {"policy_id": "lock-b", "seq": 0}]
        )
    holding = {"lock-a": asyncio.Event(), "lock-b": asyncio.Event()}
    app = create_service_app(DemoSettings(), title="demo", description="demo", with_database=False)

    @app.post("/lock/{first}/{second}")
    async def lock(first: str, second: str) -> dict[str, str]:
        async with scratch.db.transaction() as session:
            await session.execute(
                sa.update(ledger).where(ledger.c.policy_id == first).values(seq=ledger.c.seq + 1)
            )
            holding[first].set()
            await holding[second].wait()  # both transactions now hold one row each
            await session.execute(
                sa.update(ledger).where(ledger.c.policy_id == second).values(seq=ledger.c.seq + 1)
            )
        return {"locked": f"{first},{second}"}

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
        answers = await asyncio.gather(client.post("/lock/lock-a/lock-b"), client.post("/lock/lock-b/lock-a"))
    assert sorted(r.status_code for r in answers) == [200, 503], [r.text for r in answers]
    refused = next(r for r in answers if r.status_code == 503)
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "1"
    assert "retry" in refused.json()["detail"]
    async with scratch.db.transaction() as session:
        seqs = (
            await session.execute(sa.select(ledger.c.seq).where(ledger.c.policy_id.in_(["lock-a", "lock-b"])))
        ).scalars()
        assert sorted(seqs) == [1, 1], "only the surviving request's two updates were applied"
