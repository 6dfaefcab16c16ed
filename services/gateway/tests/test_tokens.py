"""Tokens are checked at the edge: bad ones never reach a service, good ones arrive with a signed
identity, and a revoked session is refused everywhere within moments (the real Kafka feed)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from aintech_contracts.rbac import Role
from aintech_devtools.testing import TestKeys

from .conftest import AUDIENCE, ISSUER, Gateway, GatewayFactory


def assert_refused_at_the_edge(resp: httpx.Response) -> None:
    assert resp.status_code == 401, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.headers["www-authenticate"] == "Bearer"
    # the stand-in answers every path with an echo; a 401 problem can only come from the gateway
    assert "headers" not in resp.json()


def test_missing_invalid_expired_and_foreign_tokens_get_401_from_the_gateway(
    gateway: Gateway, keys: TestKeys
) -> None:
    foreign = TestKeys(issuer=ISSUER, audience=AUDIENCE, kid=keys.kid)  # same kid, other key
    bad = {
        "garbage": "not.a.token",
        "expired": keys.token(expires_in=-120),
        "foreign key": foreign.token(),
        "other audience": keys.token(aud="someone-else"),
        "other issuer": keys.token(iss="https://evil.example"),
        "refresh-typed": keys.token(typ="refresh"),
    }
    with httpx.Client(base_url=gateway.url) as client:
        assert_refused_at_the_edge(client.get("/api/crm/customers"))
        for name, token in bad.items():
            resp = client.get("/api/crm/customers", headers=gateway.auth(token))
            assert_refused_at_the_edge(resp)
            assert resp.json()["instance"] == "/api/crm/customers", name
        assert_refused_at_the_edge(client.post("/api/auth/logout", headers=gateway.auth(bad["expired"])))
        ok = client.get("/api/crm/customers", headers=gateway.auth(keys.token()))
        assert ok.status_code == 200
        assert ok.json()["path"] == "/customers"


def test_public_routes_need_no_token_even_with_a_stale_one(gateway: Gateway, keys: TestKeys) -> None:
    expired = gateway.auth(keys.token(expires_in=-120))
    calls = [
        ("POST", "/api/auth/login"),
        ("POST", "/api/auth/login/2fa"),
        ("POST", "/api/auth/register"),
        ("POST", "/api/auth/refresh"),
        ("POST", "/api/auth/forgot-password"),
        ("POST", "/api/auth/reset-password"),
        ("POST", "/api/auth/verify-email"),
        ("GET", "/api/auth/oauth/providers"),
        ("GET", "/api/auth/oauth/google/login"),
        ("GET", "/api/auth/oauth/microsoft/callback?code=c&state=s"),
        ("POST", "/api/auth/oauth/google/start"),
        ("POST", "/webhooks/twilio/voice/status"),
        ("POST", "/webhooks/sendgrid/events"),
    ]
    with httpx.Client(base_url=gateway.url) as client:
        for method, path in calls:
            for headers in ({}, expired):
                resp = client.request(method, path, headers=headers)
                assert resp.status_code == 200, (method, path, resp.text)
                assert "x-aintech-identity" not in resp.json()["headers"]
        jwks = client.get("/api/auth/.well-known/jwks.json")
        assert jwks.status_code == 200 and jwks.json()["keys"][0]["kid"] == keys.kid
        # not public: the resend needs the account's token
        assert_refused_at_the_edge(client.post("/api/auth/verify-email/resend"))


def test_the_service_gets_a_signed_identity_and_never_a_forged_one(gateway: Gateway, keys: TestKeys) -> None:
    user, session = str(uuid.uuid4()), str(uuid.uuid4())
    token = keys.token(sub=user, sid=session, role=Role.supervisor)
    forged = {"X-Aintech-Identity": "v1.1.eyJzdWIiOiJhZG1pbiJ9.forged"}
    with httpx.Client(base_url=gateway.url) as client:
        who = client.get("/api/omnichannel/identity", headers={**gateway.auth(token), **forged})
        assert who.status_code == 200, who.text
        assert who.json() == {"user_id": user, "session_id": session, "role": "supervisor"}
        # a public call carries no identity, and a client cannot smuggle one in
        anonymous = client.post("/api/auth/login", headers=forged)
        assert "x-aintech-identity" not in anonymous.json()["headers"]
        echoed = client.get("/api/crm/echo", headers={**gateway.auth(token), **forged}).json()["headers"]
        assert echoed["x-aintech-identity"] != forged["X-Aintech-Identity"]
        assert echoed["authorization"] == f"Bearer {token}", "services still get the token (defence in depth)"
    # and a service reached directly (not through the gateway) gets no identity from a forgery
    direct = httpx.get(f"{gateway.service_url('omnichannel')}/identity", headers=forged)
    assert direct.status_code == 401


async def poll_until_refused(gateway: Gateway, token: str, within: float = 15.0) -> float:
    """Seconds until ``token`` gets 401 (asking every 50 ms); fails after ``within``."""
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        while time.monotonic() - started < within:
            resp = await client.get("/api/crm/customers", headers=gateway.auth(token))
            if resp.status_code == 401:
                assert "signed out" in resp.json()["detail"]
                return time.monotonic() - started
            assert resp.status_code == 200
            await asyncio.sleep(0.05)
    pytest.fail(f"the revoked token was still accepted after {within}s")


async def test_a_revoked_session_is_refused_within_moments(
    gateway: Gateway, keys: TestKeys, revoke: Callable[..., Any]
) -> None:
    revoked_sid, other_sid, user = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    revoked = keys.token(sub=user, sid=revoked_sid)
    other = keys.token(sub=user, sid=other_sid)
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        assert (await client.get("/api/crm/customers", headers=gateway.auth(revoked))).status_code == 200
        await revoke(gateway.kafka_bootstrap, [revoked_sid], user_id=user)
        waited = await poll_until_refused(gateway, revoked)
        assert (await client.get("/api/crm/customers", headers=gateway.auth(other))).status_code == 200
        # public routes stay open to the signed-out client (it may sign in again)
        assert (await client.post("/api/auth/login", headers=gateway.auth(revoked))).status_code == 200
    assert waited < 15


async def test_a_gateway_started_after_a_revocation_refuses_the_token_from_its_first_call(
    start_gateway: GatewayFactory, keys: TestKeys, kafka_bootstrap: str, revoke: Callable[..., Any]
) -> None:
    sid = str(uuid.uuid4())
    token = keys.token(sid=sid)
    await revoke(kafka_bootstrap, [sid])
    late = await asyncio.to_thread(start_gateway)  # reads back to now - longest token lifetime first
    async with httpx.AsyncClient(base_url=late.url) as client:
        resp = await client.get("/api/crm/customers", headers=late.auth(token))
    assert_refused_at_the_edge(resp)
