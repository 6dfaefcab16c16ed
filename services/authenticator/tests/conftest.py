"""Fixtures: the authenticator on real Postgres and a fake IdP.

``api`` runs each test in one rolled-back transaction; ``live`` runs the app on a database of its
own where requests commit for real on several connections (concurrency tests).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pyotp
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from aintech_devtools.testing import CommittedDatabase, committed_database, rolled_back
from authenticator.app import create_app
from authenticator.settings import Settings

from .fake_oidc import CLIENT_SECRET, FakeOIDC, ThreadedServer

ALEMBIC_INI = Path(__file__).resolve().parents[1] / "alembic.ini"
PASSWORD = "Tejado-Azul-42!"
NEW_PASSWORD = "Velero-Rojo-77?"
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"


def make_settings(oidc: FakeOIDC, **overrides: Any) -> Settings:
    """Production defaults except cheaper Argon2 and quick, small throttling thresholds."""
    values: dict[str, Any] = {
        "password_hash_memory_kib": 1024,
        "password_hash_time_cost": 1,
        "key_cache_seconds": 0,
        "login_free_attempts_per_account_ip": 2,
        "login_lockout_after_per_account_ip": 4,
        "login_free_attempts_per_account": 8,
        "login_lockout_after_per_account": 12,
        "login_free_attempts_per_ip": 6,
        "login_lockout_after_per_ip": 10,
        "signup_max_per_ip_per_hour": 8,
        "signup_max_per_address_per_hour": 2,
        "password_reset_max_per_ip_per_hour": 5,
        "verification_resend_cooldown_seconds": 60,
        "verification_resend_max_per_hour": 3,
        "step_up_max_age_seconds": 600,
        "login_delay_base_seconds": 5.0,  # long enough that no step of a test outlives a delay
        "login_lockout_seconds": 60,
        "app_base_url": "https://app.aintech.test",
        "google_client_id": "google-client",
        "google_client_secret": CLIENT_SECRET,
        "google_discovery_url": oidc.discovery_url("google"),
        "microsoft_client_id": "microsoft-client",
        "microsoft_client_secret": CLIENT_SECRET,
        "microsoft_discovery_url": oidc.discovery_url("microsoft"),
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def oidc() -> Iterator[FakeOIDC]:
    provider = FakeOIDC(base_url="")
    server = ThreadedServer(provider.app())
    provider.base_url = server.url
    provider.clients = {"google-client": CLIENT_SECRET, "microsoft-client": CLIENT_SECRET}
    server.start()
    yield provider
    server.stop()


@pytest.fixture(scope="session")
async def app(admin_database_url: str, kafka_bootstrap: str, oidc: FakeOIDC) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(oidc))
    async with application.router.lifespan_context(application):
        yield application


@dataclass
class Api:
    """An HTTP client on the app plus the test's database connection, with flow helpers."""

    client: AsyncClient
    conn: AsyncConnection
    oidc: FakeOIDC

    async def register(
        self, email: str | None = None, password: str = PASSWORD, **extra: Any
    ) -> dict[str, Any]:
        email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
        body = {"email": email, "password": password, "first_name": "Lucía", "last_name": "Martín", **extra}
        response = await self.client.post("/register", json=body)
        assert response.status_code in (201, 202), response.text
        row = (
            await self.conn.execute(
                text(
                    "SELECT id, email, first_name, last_name, phone, role, status,"
                    " email_verified_at IS NOT NULL AS email_verified FROM auth.users WHERE email = :e"
                ),
                {"e": email.lower()},
            )
        ).one()
        return {**row._asdict(), "id": str(row.id)}

    async def login(self, email: str, password: str = PASSWORD, **headers: str) -> httpx.Response:
        return await self.client.post("/login", json={"email": email, "password": password}, headers=headers)

    async def signed_in(self, role: str = "customer", email: str | None = None) -> dict[str, Any]:
        """A registered, verified user of ``role`` with a fresh token pair (keys: user, tokens, auth)."""
        user = await self.register(email)
        await self.conn.execute(
            text("UPDATE auth.users SET role = :role, email_verified_at = now() WHERE id = :id"),
            {"role": role, "id": user["id"]},
        )
        response = await self.login(user["email"])
        assert response.status_code == 200, response.text
        tokens = response.json()
        return {"user": user, "tokens": tokens, "auth": {"Authorization": f"Bearer {tokens['access_token']}"}}

    async def events(self, event_type: str, key: str | None = None) -> list[dict[str, Any]]:
        """CloudEvents staged in the outbox by this test's requests."""
        query = "SELECT payload FROM auth.outbox WHERE event_type = :t"
        params: dict[str, Any] = {"t": event_type}
        if key is not None:
            query += " AND key = :k"
            params["k"] = key
        rows = await self.conn.execute(text(query + " ORDER BY seq"), params)
        return [dict(r[0]) for r in rows]

    async def audit(self, action: str, user_id: str | None = None) -> list[dict[str, Any]]:
        query = (
            "SELECT action, actor_id, user_id, ip, user_agent, changes, details"
            " FROM auth.audit_logs WHERE action = :a"
        )
        params: dict[str, Any] = {"a": action}
        if user_id is not None:
            query += " AND user_id = :u"
            params["u"] = user_id
        rows = await self.conn.execute(text(query + " ORDER BY occurred_at"), params)
        return [dict(r._mapping) for r in rows]

    async def oauth(
        self,
        provider: str,
        identity: dict[str, Any],
        *,
        start: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Run the browser's part of the code flow against the fake provider; returns the callback answer."""
        self.oidc.next_identity = identity
        if start is None:
            started = await self.client.get(f"/oauth/{provider}/login", headers=headers or {})
            assert started.status_code == 302, started.text
            authorize_url = started.headers["location"]
        else:
            authorize_url = start
        async with httpx.AsyncClient() as browser:
            at_provider = await browser.get(authorize_url)
        assert at_provider.status_code == 302, at_provider.text
        callback = urlsplit(at_provider.headers["location"])
        return await self.client.get(f"{callback.path}?{callback.query}", headers=headers or {})


def totp_code(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


async def confirm_two_factor(api: Api, auth: dict[str, str], secret: str) -> httpx.Response:
    """Finish enrolment with the current step's code, then record the step before it as the last one
    used, as if the enrolment had happened a step earlier: the current step's code stays fresh for
    whatever the test does next. (Sending the previous step's code instead is refused whenever a
    30 s step ends between computing the code and the server checking it: two steps old by then.)"""
    confirmed = await api.client.post("/2fa/verify", json={"code": totp_code(secret)}, headers=auth)
    if confirmed.status_code == 200:
        await api.conn.execute(
            text(
                "UPDATE auth.users SET totp_last_step = totp_last_step - 1"
                " WHERE id = (SELECT user_id FROM auth.sessions WHERE id = :sid)"
            ),
            {"sid": jwt.decode(auth["Authorization"].split()[1], options={"verify_signature": False})["sid"]},
        )
    return confirmed


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
async def api(app: FastAPI, oidc: FakeOIDC) -> AsyncIterator[Api]:
    async with (
        rolled_back(app.state.db) as conn,
        AsyncClient(
            transport=ASGITransport(app=app), base_url="http://auth.test", headers={"User-Agent": BROWSER}
        ) as client,
    ):
        yield Api(client=client, conn=conn, oidc=oidc)


@dataclass
class Live(Api):
    """An ``Api`` on an app whose requests commit for real, with the database behind it."""

    database: CommittedDatabase


@pytest.fixture(scope="session")
async def live_database(admin_database_url: str) -> AsyncIterator[CommittedDatabase]:
    async with committed_database(
        admin_database_url, service="authenticator", alembic_ini=ALEMBIC_INI
    ) as database:
        yield database


@pytest.fixture(scope="session")
async def live_app(
    live_database: CommittedDatabase, kafka_bootstrap: str, oidc: FakeOIDC
) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(oidc, AINTECH_DATABASE_URL=live_database.url))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def live(live_app: FastAPI, live_database: CommittedDatabase, oidc: FakeOIDC) -> AsyncIterator[Live]:
    """The app on its own database: every request commits; the test's rows are deleted afterwards."""
    try:
        async with (
            live_database.engine.connect() as conn,
            AsyncClient(
                transport=ASGITransport(app=live_app),
                base_url="http://auth.test",
                headers={"User-Agent": BROWSER},
            ) as client,
        ):
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            yield Live(client=client, conn=conn, oidc=oidc, database=live_database)
    finally:
        await live_database.clear(keep=["signing_keys"])
