"""Fixtures: the CRM on real Postgres (one rolled-back transaction per test), test signing keys."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from aintech_contracts.rbac import Role
from aintech_devtools.testing import TestKeys, rolled_back
from core_crm.app import create_app
from core_crm.settings import Settings

ISSUER = "https://auth.aintech.local"
AUDIENCE = "aintech-api"

# Valid Spanish identifiers for tests (check letters verified by python-stdnum).
DNIS = ["12345678Z", "87654321X", "11111111H", "22222222J", "33333333P", "44444444A", "55555555K"]
IBAN = "ES9121000418450200051332"


def crm_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"webhook_allowlist": ["127.0.0.1"], "webhook_timeout_seconds": 3.0}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def keys() -> TestKeys:
    return TestKeys(issuer=ISSUER, audience=AUDIENCE)


@pytest.fixture(scope="session")
async def app(admin_database_url: str, kafka_bootstrap: str, keys: TestKeys) -> AsyncIterator[FastAPI]:
    application = create_app(crm_settings())
    application.state.token_verifier = keys.verifier()
    async with application.router.lifespan_context(application):
        yield application


@dataclass
class Api:
    """An HTTP client on the app, the test's database connection, and helpers for common setup."""

    client: AsyncClient
    conn: AsyncConnection
    keys: TestKeys
    agent_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def auth(self, role: Role = Role.agent, sub: str | None = None) -> dict[str, str]:
        if sub is None and role is not Role.customer:
            sub = self.agent_id
        return {"Authorization": f"Bearer {self.keys.token(role=role, sub=sub)}"}

    @property
    def agent(self) -> dict[str, str]:
        return self.auth(Role.agent)

    @property
    def supervisor(self) -> dict[str, str]:
        return self.auth(Role.supervisor, sub=str(uuid.uuid4()))

    async def call(self, method: str, url: str, *, expect: int, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("headers", self.agent)
        response = await self.client.request(method, url, **kwargs)
        assert response.status_code == expect, f"{method} {url} -> {response.status_code}: {response.text}"
        return response

    async def customer(self, **fields: Any) -> dict[str, Any]:
        body = {
            "first_name": "Lucía",
            "last_name": "Martín",
            "email": f"c-{uuid.uuid4().hex[:10]}@example.com",
            "postal_code": "28013",
            **fields,
        }
        return dict((await self.call("POST", "/customers", json=body, expect=201)).json())

    async def customer_login(self, customer_id: str) -> dict[str, str]:
        """Link a new customer account to ``customer_id``; returns its auth header."""
        user_id = str(uuid.uuid4())
        await self.conn.execute(
            text("UPDATE crm.customers SET user_id = :u WHERE id = :c"), {"u": user_id, "c": customer_id}
        )
        return self.auth(Role.customer, sub=user_id)

    async def policy(self, customer_id: str, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "customer_id": customer_id,
            "policy_type": "home",
            "carrier": "Mapfre",
            "coverage_start_date": "2026-01-01",
            "coverage_end_date": "2027-01-01",
            "premium_amount": "420.00",
            "premium_frequency": "annual",
            "coverage_amount": "150000.00",
            "details": {"property_address": "Calle Mayor 12", "property_type": "apartment"},
            **fields,
        }
        return dict((await self.call("POST", "/policies", json=body, expect=201)).json())

    async def events(self, event_type: str, key: str | None = None) -> list[dict[str, Any]]:
        """CloudEvents staged in the outbox by this test."""
        query = "SELECT payload FROM crm.outbox WHERE event_type = :t"
        params: dict[str, Any] = {"t": event_type}
        if key is not None:
            query += " AND key = :k"
            params["k"] = key
        rows = await self.conn.execute(text(query + " ORDER BY seq"), params)
        return [dict(r[0]) for r in rows]


@pytest.fixture
async def api(app: FastAPI, keys: TestKeys) -> AsyncIterator[Api]:
    async with (
        rolled_back(app.state.db) as conn,
        AsyncClient(transport=ASGITransport(app=app), base_url="http://crm.test") as client,
    ):
        yield Api(client=client, conn=conn, keys=keys)


PURGE_ORDER = (
    "DELETE FROM crm.workflow_step_runs WHERE execution_id IN (SELECT id FROM crm.workflow_executions"
    " WHERE trigger_data->>'customer_id' = :c)",
    "DELETE FROM crm.workflow_executions WHERE trigger_data->>'customer_id' = :c",
    "DELETE FROM crm.tasks WHERE customer_id = :c",
    "DELETE FROM crm.interactions WHERE customer_id = :c",
    "DELETE FROM crm.claims WHERE customer_id = :c",
    "DELETE FROM crm.quotes WHERE customer_id = :c",
    "DELETE FROM crm.policies WHERE customer_id = :c",
    "DELETE FROM crm.customer_audit WHERE customer_id = :c",
    "DELETE FROM crm.customers WHERE id = :c",
    "DELETE FROM crm.outbox WHERE payload->'data'->>'customer_id' = :c",
)


@pytest.fixture
async def committed(app: FastAPI, keys: TestKeys) -> AsyncIterator[Api]:
    """The app with real commits (for concurrency tests); the customers it created are purged after."""
    db = app.state.db
    async with (
        AsyncClient(transport=ASGITransport(app=app), base_url="http://crm.test") as client,
        db.engine.connect() as conn,
    ):
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        api = Api(client=client, conn=conn, keys=keys)
        started = await conn.scalar(text("SELECT now()"))
        try:
            yield api
        finally:
            ids = await conn.scalars(
                text("SELECT id FROM crm.customers WHERE created_at >= :t AND created_by = :a"),
                {"t": started, "a": api.agent_id},
            )
            for customer_id in ids.all():
                for statement in PURGE_ORDER:
                    await conn.execute(text(statement), {"c": str(customer_id)})
