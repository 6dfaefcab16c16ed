"""Schemathesis over the authenticator's own OpenAPI: generated requests, in process, on real Postgres.

The app runs on a database of its own (requests commit for real). Every generated request is sent
with an administrator's fresh access token, so the guarded endpoints are exercised past their
guard. Bounded: a few examples per operation, a few hundred requests in all.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import text
from starlette.testclient import TestClient

from aintech_devtools.hostile import hostile_json_requests, refused_properly
from aintech_devtools.testing import CommittedDatabase, committed_database
from authenticator.app import create_app
from authenticator.settings import Settings

from .conftest import ALEMBIC_INI, BROWSER, make_settings
from .fake_oidc import FakeOIDC

BASE_URL = "http://auth.test"
# Not a password the documented examples use (they would change it).
ADMIN_PASSWORD = "Fuzz-Admin-Key-93?"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
async def fuzz_database(admin_database_url: str) -> AsyncIterator[CommittedDatabase]:
    async with committed_database(
        admin_database_url, service="authenticator", alembic_ini=ALEMBIC_INI
    ) as database:
        yield database


@pytest.fixture(scope="module")
def fuzz_client(fuzz_database: CommittedDatabase, oidc: FakeOIDC) -> Iterator[TestClient]:
    """The app with its lifespan running in the test client's own event loop."""
    generous = {
        "login_free_attempts_per_account_ip": 100_000,
        "login_lockout_after_per_account_ip": 100_001,
        "login_free_attempts_per_account": 100_000,
        "login_lockout_after_per_account": 100_001,
        "login_free_attempts_per_ip": 100_000,
        "login_lockout_after_per_ip": 100_001,
        "signup_max_per_ip_per_hour": 100_000,
        "password_reset_max_per_ip_per_hour": 100_000,
    }
    app = create_app(make_settings(oidc, AINTECH_DATABASE_URL=fuzz_database.url, **generous))
    with TestClient(
        app, base_url=BASE_URL, raise_server_exceptions=False, headers={"User-Agent": BROWSER}
    ) as client:
        yield client


@pytest.fixture(scope="module")
def admin_email(fuzz_client: TestClient) -> str:
    email = f"fuzz-admin-{uuid.uuid4().hex[:8]}@example.com"
    registered = fuzz_client.post(
        "/register", json={"email": email, "password": ADMIN_PASSWORD, "first_name": "Fu", "last_name": "Zz"}
    )
    assert registered.status_code == 202, registered.text
    app = fuzz_client.app
    assert isinstance(app, FastAPI)

    async def promote() -> None:
        async with app.state.db.transaction() as session:
            await session.execute(
                text("UPDATE auth.users SET role = 'admin', email_verified_at = now() WHERE email = :e"),
                {"e": email},
            )

    assert fuzz_client.portal is not None
    fuzz_client.portal.call(promote)
    return email


# The OpenAPI document does not depend on the database or on configuration. The documented
# examples and generated requests run; the exhaustive boundary-value phase is left to the
# schemathesis CLI (it sends thousands of requests).
schema: BaseSchema = schemathesis.openapi.from_dict(
    create_app(Settings()).openapi(),
    config=SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}}),
)


_TOKEN: dict[str, str] = {}


def _auth(client: TestClient, email: str) -> dict[str, str]:
    """An administrator's bearer token, signing in again once a generated call ended the session."""
    if _TOKEN and client.get("/me", headers=_TOKEN).status_code == 200:
        return dict(_TOKEN)
    signed_in = client.post("/login", json={"email": email, "password": ADMIN_PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    _TOKEN.clear()
    _TOKEN["Authorization"] = f"Bearer {signed_in.json()['access_token']}"
    return dict(_TOKEN)


@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
def test_no_generated_request_gets_a_server_error(
    case: Any, fuzz_client: TestClient, admin_email: str
) -> None:
    kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=_auth(fuzz_client, admin_email))
    response = fuzz_client.request(
        method=kwargs["method"],
        url=kwargs["url"],
        headers=kwargs.get("headers"),
        params=kwargs.get("params"),
        cookies=kwargs.get("cookies"),
        json=kwargs.get("json"),
        content=kwargs.get("data"),
        follow_redirects=False,
    )
    case.validate_response(response, checks=CHECKS)


def test_free_form_objects_with_hostile_keys_are_422(fuzz_client: TestClient, admin_email: str) -> None:
    """Schemathesis draws only valid Unicode keys: lone surrogates and NUL are sent explicitly."""
    app = fuzz_client.app
    assert isinstance(app, FastAPI)
    cases = list(hostile_json_requests(app.openapi()))
    wrong: list[str] = []
    for case in cases:
        headers = {**_auth(fuzz_client, admin_email), "Content-Type": "application/json"}
        response = fuzz_client.request(case.method, case.url, headers=headers, content=case.body)
        if not refused_properly(response.status_code, response.headers.get("content-type", "")):
            wrong.append(f"{case.label}: {response.status_code} {response.text[:200]}")
    assert len(cases) >= 30, len(cases)
    assert not wrong, "\n".join(wrong[:10])
