"""Fixtures: analytics on real Postgres and Kafka, its store in chDB (a test directory), test
signing keys; helpers that build the domain events other services publish."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from aintech_contracts.rbac import Role
from aintech_devtools.api import started_app
from aintech_devtools.testing import TestKeys
from analytics.app import create_app
from analytics.settings import Settings
from analytics.store.port import ChdbStore, Store
from analytics.store.schema import create_schema, drop_schema

ISSUER = "https://auth.aintech.local"
AUDIENCE = "aintech-api"


@pytest.fixture(scope="session")
def keys() -> TestKeys:
    return TestKeys(issuer=ISSUER, audience=AUDIENCE)


@pytest.fixture(scope="session")
def chdb_path() -> str:
    """The one chDB directory of this test process (the root conftest sets it for every app)."""
    return os.environ["ANALYTICS_CHDB_PATH"]


@pytest.fixture(scope="session")
def settings(chdb_path: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        chdb_path=chdb_path,
        store_database="live",
        ingest_group=f"analytics.ingest.test-{uuid.uuid4().hex[:8]}",
        ingest_flush_seconds=0.2,
        churn_model_dir=str(tmp_path_factory.mktemp("churn")),
        churn_job_enabled=False,
    )


@pytest.fixture(scope="session")
async def app(
    admin_database_url: str, kafka_bootstrap: str, keys: TestKeys, settings: Settings
) -> AsyncIterator[FastAPI]:
    """The API with its ingest loop consuming the real Kafka into the ``live`` database."""
    async with started_app(create_app(settings), keys) as application:
        yield application


@pytest.fixture
async def store(chdb_path: str) -> AsyncIterator[Store]:
    """A database of its own in the same chDB session (one test's event history)."""
    scratch = ChdbStore(chdb_path, database=f"t_{uuid.uuid4().hex[:12]}")
    await create_schema(scratch)
    yield scratch
    await drop_schema(scratch)


@dataclass
class Api:
    client: AsyncClient
    keys: TestKeys

    def auth(self, role: Role = Role.supervisor) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys.token(role=role, sub=str(uuid.uuid4()))}"}

    async def call(self, method: str, url: str, *, expect: int, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("headers", self.auth())
        response = await self.client.request(method, url, **kwargs)
        assert response.status_code == expect, f"{method} {url} -> {response.status_code}: {response.text}"
        return response


@pytest.fixture
async def api(app: FastAPI, keys: TestKeys) -> AsyncIterator[Api]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://analytics.test") as client:
        yield Api(client=client, keys=keys)


@pytest.fixture
async def store_api(store: Store, keys: TestKeys, settings: Settings) -> AsyncIterator[Api]:
    """The API over the test's own ``store`` database, without an ingest loop."""
    application = create_app(
        settings.model_copy(update={"store_database": store.database, "ingest_enabled": False})
    )
    async with (
        started_app(application, keys),
        AsyncClient(transport=ASGITransport(app=application), base_url="http://analytics.test") as client,
    ):
        yield Api(client=client, keys=keys)
