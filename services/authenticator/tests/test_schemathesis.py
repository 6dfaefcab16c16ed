"""Schemathesis over the authenticator's own OpenAPI: generated requests, in process, on real Postgres
(`aintech_devtools.fuzzing`): no 5xx, every refusal problem+json, every answer as documented.

The app runs on a database of its own (requests commit for real). Every generated request is sent
with an administrator's fresh access token, so the guarded endpoints are exercised past their
guard. Bounded: a few examples per operation, a few hundred requests in all.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from aintech_devtools.fuzzing import fuzz_app, hostile_bodies_refused
from aintech_devtools.testing import committed_database
from authenticator.app import create_app

from .conftest import ALEMBIC_INI, BROWSER, make_settings
from .fake_oidc import FakeOIDC

BASE_URL = "http://auth.test"
# Not a password the documented examples use (they would change it).
ADMIN_PASSWORD = "Fuzz-Admin-Key-93?"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
GENEROUS = {
    "login_free_attempts_per_account_ip": 100_000,
    "login_lockout_after_per_account_ip": 100_001,
    "login_free_attempts_per_account": 100_000,
    "login_lockout_after_per_account": 100_001,
    "login_free_attempts_per_ip": 100_000,
    "login_lockout_after_per_ip": 100_001,
    "signup_max_per_ip_per_hour": 100_000,
    "password_reset_max_per_ip_per_hour": 100_000,
}


@pytest.fixture(scope="module")
async def fuzz_app_instance(admin_database_url: str, oidc: FakeOIDC) -> AsyncIterator[FastAPI]:
    async with committed_database(
        admin_database_url, service="authenticator", alembic_ini=ALEMBIC_INI
    ) as database:
        app = create_app(make_settings(oidc, AINTECH_DATABASE_URL=database.url, **GENEROUS))
        async with app.router.lifespan_context(app):
            yield app


async def _admin(app: FastAPI, client: httpx.AsyncClient) -> str:
    email = f"fuzz-admin-{uuid.uuid4().hex[:8]}@example.com"
    registered = await client.post(
        "/register", json={"email": email, "password": ADMIN_PASSWORD, "first_name": "Fu", "last_name": "Zz"}
    )
    assert registered.status_code == 202, registered.text
    async with app.state.db.transaction() as session:
        await session.execute(
            text("UPDATE auth.users SET role = 'admin', email_verified_at = now() WHERE email = :e"),
            {"e": email},
        )
    return email


def _signed_in_admin(
    app: FastAPI, client: httpx.AsyncClient, email: str
) -> Callable[[], Awaitable[Mapping[str, str]]]:
    token: dict[str, str] = {}

    async def auth() -> Mapping[str, str]:
        """An administrator's bearer token, signing in again once a generated call ended the session."""
        if token and (await client.get("/me", headers=token)).status_code == 200:
            return {**token, "User-Agent": BROWSER}
        signed_in = await client.post("/login", json={"email": email, "password": ADMIN_PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        token["Authorization"] = f"Bearer {signed_in.json()['access_token']}"
        return {**token, "User-Agent": BROWSER}

    return auth


async def test_no_generated_request_gets_a_server_error(fuzz_app_instance: FastAPI) -> None:
    app = fuzz_app_instance
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url=BASE_URL, headers={"User-Agent": BROWSER}
    ) as client:
        auth = _signed_in_admin(app, client, await _admin(app, client))
        run = await fuzz_app(app, headers=auth, examples=5, base_url=BASE_URL)
    run.assert_clean(min_operations=30, min_sent=150)


async def test_free_form_objects_with_hostile_keys_are_422(fuzz_app_instance: FastAPI) -> None:
    """Schemathesis draws only valid Unicode keys: lone surrogates and NUL are sent explicitly."""
    app = fuzz_app_instance
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url=BASE_URL, headers={"User-Agent": BROWSER}
    ) as client:
        auth = _signed_in_admin(app, client, await _admin(app, client))
        sent, wrong = await hostile_bodies_refused(app, headers=auth, base_url=BASE_URL)
    assert sent >= 30, sent
    assert not wrong, "\n".join(wrong[:10])
