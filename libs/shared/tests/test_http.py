"""The app factory over real Postgres: problem+json everywhere, one commit per request, ids."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, ClassVar

import pytest
from fastapi import APIRouter, Query
from httpx import ASGITransport, AsyncClient
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy import select

from aintech_devtools.testing import ScratchSchema
from aintech_shared.app import create_service_app
from aintech_shared.db import DbSession
from aintech_shared.errors import Conflict
from aintech_shared.events.tables import MessagingTables
from aintech_shared.settings import ServiceSettings


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore")
    service_name: ClassVar[str] = "demo"
    db_schema: ClassVar[str] = "demo"


class JobIn(BaseModel):
    name: str = Field(min_length=3)
    every_minutes: int = Field(gt=0)


def demo_router(tables: MessagingTables) -> APIRouter:
    router = APIRouter()
    jobs = tables.scheduled_jobs

    @router.post("/jobs", status_code=201)
    async def create(body: JobIn, session: DbSession, fail_after_write: bool = False) -> dict[str, str]:
        await session.execute(jobs.insert().values(name=body.name))
        if fail_after_write:
            raise Conflict("A job with that name is being created elsewhere.")
        return {"name": body.name}

    @router.get("/jobs/{name}")
    async def read(name: str, session: DbSession) -> dict[str, str]:
        found = await session.scalar(select(jobs.c.name).where(jobs.c.name == name))
        if found is None:
            from aintech_shared.errors import NotFound

            raise NotFound(f"No job named {name!r}.")
        return {"name": found}

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    @router.get("/items")
    async def items(limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, int]:
        return {"limit": limit}

    return router


@pytest.fixture
async def client(scratch: ScratchSchema) -> AsyncIterator[AsyncClient]:
    db, tables = scratch.db, scratch.tables
    app = create_service_app(DemoSettings(), title="demo", description="demo", routers=[demo_router(tables)])
    async with app.router.lifespan_context(app):
        app.state.db = db
        transport = ASGITransport(app=app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://demo") as c:
            yield c


async def test_commit_once_on_success_and_rollback_on_error(client: AsyncClient) -> None:
    name = f"job-{uuid.uuid4().hex[:6]}"
    created = await client.post("/jobs", json={"name": name, "every_minutes": 5})
    assert created.status_code == 201
    assert (await client.get(f"/jobs/{name}")).status_code == 200

    other = f"job-{uuid.uuid4().hex[:6]}"
    failed = await client.post("/jobs?fail_after_write=true", json={"name": other, "every_minutes": 5})
    assert failed.status_code == 409
    assert failed.headers["content-type"] == "application/problem+json"
    assert failed.json()["detail"] == "A job with that name is being created elsewhere."
    missing = await client.get(f"/jobs/{other}")
    assert missing.status_code == 404, "the write before the error must have been rolled back"
    assert missing.json()["detail"] == f"No job named {other!r}."


async def test_commit_failure_is_an_error_not_a_success(client: AsyncClient) -> None:
    name = f"job-{uuid.uuid4().hex[:6]}"
    assert (await client.post("/jobs", json={"name": name, "every_minutes": 1})).status_code == 201
    duplicate = await client.post("/jobs", json={"name": name, "every_minutes": 1})
    assert duplicate.status_code == 500
    assert duplicate.headers["content-type"] == "application/problem+json"


async def test_validation_errors_are_field_level_problems(client: AsyncClient) -> None:
    resp = await client.post("/jobs", json={"name": "x", "every_minutes": "soon"})
    assert resp.status_code == 422
    body = resp.json()
    assert body["type"].endswith("/validation-error")
    fields = {e["field"]: e for e in body["errors"]}
    assert set(fields) == {"name", "every_minutes"}
    assert fields["every_minutes"]["location"] == "body"
    query = await client.get("/items?limit=500")
    assert query.status_code == 422
    assert query.json()["errors"][0]["location"] == "query"


async def test_malformed_json_is_400(client: AsyncClient) -> None:
    resp = await client.post("/jobs", content=b'{"name": ', headers={"content-type": "application/json"})
    assert resp.status_code == 400
    assert resp.json()["title"] == "Malformed JSON"


async def test_unknown_route_wrong_method_and_crash(client: AsyncClient) -> None:
    missing = await client.get("/nowhere")
    assert (missing.status_code, missing.json()["instance"]) == (404, "/nowhere")
    wrong = await client.delete("/jobs/x")
    assert wrong.status_code == 405
    assert wrong.headers["content-type"] == "application/problem+json"
    crash = await client.get("/boom")
    assert crash.status_code == 500
    assert "secret internals" not in crash.text
    assert crash.json()["status"] == 500


async def test_request_and_correlation_ids_round_trip(client: AsyncClient) -> None:
    resp = await client.get("/healthz", headers={"x-correlation-id": "corr-123"})
    assert resp.headers["x-correlation-id"] == "corr-123"
    assert len(resp.headers["x-request-id"]) == 32
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": {"ok": True}, "kafka": {"ok": True}}
    metrics = await client.get("/metrics")
    assert 'route="/healthz"' in metrics.text
