"""Fixtures: the quote engine on real Postgres (one rolled-back transaction per test), the
illustrative tariffs loaded inside that transaction, test signing keys."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aintech_contracts.rbac import Role
from aintech_devtools.testing import TestKeys, rolled_back
from quote_engine.app import create_app
from quote_engine.seed import seed_tariffs
from quote_engine.settings import Settings

ISSUER = "https://auth.aintech.local"
AUDIENCE = "aintech-api"


@pytest.fixture(scope="session")
def keys() -> TestKeys:
    return TestKeys(issuer=ISSUER, audience=AUDIENCE)


@pytest.fixture(scope="session")
async def app(admin_database_url: str, kafka_bootstrap: str, keys: TestKeys) -> AsyncIterator[FastAPI]:
    application = create_app(Settings())
    application.state.token_verifier = keys.verifier()
    async with application.router.lifespan_context(application):
        yield application


@dataclass
class Api:
    client: AsyncClient
    conn: AsyncConnection
    keys: TestKeys
    user_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def auth(self, role: Role = Role.agent) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys.token(role=role, sub=self.user_id)}"}

    @property
    def admin(self) -> dict[str, str]:
        return self.auth(Role.admin)

    async def call(self, method: str, url: str, *, expect: int, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("headers", self.auth())
        response = await self.client.request(method, url, **kwargs)
        assert response.status_code == expect, f"{method} {url} -> {response.status_code}: {response.text}"
        return response


@pytest.fixture
async def api(app: FastAPI, keys: TestKeys) -> AsyncIterator[Api]:
    async with (
        rolled_back(app.state.db) as conn,
        AsyncClient(transport=ASGITransport(app=app), base_url="http://quotes.test") as client,
    ):
        async with AsyncSession(bind=conn, join_transaction_mode="create_savepoint") as session:
            await seed_tariffs(session, rt=app.state.runtime)
            await session.commit()  # releases the savepoint; the test transaction still rolls back
        yield Api(client=client, conn=conn, keys=keys)
