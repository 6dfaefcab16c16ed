"""Rate limits: per client IP for anonymous calls, per user for authenticated ones, tighter on the
sensitive routes; 429 problem+json with Retry-After and the RateLimit-* headers."""

from __future__ import annotations

import uuid

import httpx
import pytest
from httpx import ASGITransport, AsyncClient

from gateway.app import create_app
from gateway.settings import Settings

from .conftest import Gateway, GatewayFactory, free_port_block

LIMITS = {"anonymous": "6/minute", "user": "8/minute", "sign-in": "3/minute", "webhooks": "4/minute"}


@pytest.fixture(scope="module")
def strict(start_gateway: GatewayFactory) -> Gateway:
    return start_gateway(GATEWAY_RATE_LIMITS=LIMITS)


def from_ip(ip: str, **headers: str) -> dict[str, str]:
    """The loopback test client is a trusted proxy: X-Forwarded-For names the client."""
    return {"X-Forwarded-For": ip, **headers}


def assert_limited(resp: httpx.Response, limit: int) -> None:
    assert resp.status_code == 429, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert int(resp.headers["retry-after"]) >= 1
    assert resp.headers["ratelimit-limit"] == str(limit)
    assert resp.headers["ratelimit-remaining"] == "0"
    assert int(resp.headers["ratelimit-reset"]) >= 1


def test_anonymous_calls_are_limited_per_client_ip(strict: Gateway) -> None:
    with httpx.Client(base_url=strict.url) as client:
        remaining = []
        for _ in range(6):
            resp = client.get("/api/auth/oauth/providers", headers=from_ip("198.51.100.10"))
            assert resp.status_code == 200
            assert resp.headers["ratelimit-limit"] == "6"
            remaining.append(int(resp.headers["ratelimit-remaining"]))
        assert remaining == sorted(remaining, reverse=True) and remaining[-1] == 0
        assert_limited(client.get("/api/auth/oauth/providers", headers=from_ip("198.51.100.10")), 6)
        # an invalid token does not buy a fresh budget: it is charged to the IP as well
        assert_limited(
            client.get("/api/crm/x", headers=from_ip("198.51.100.10", Authorization="Bearer junk")), 6
        )
        assert client.get("/api/auth/oauth/providers", headers=from_ip("198.51.100.11")).status_code == 200


def test_authenticated_calls_are_limited_per_user_wherever_they_come_from(strict: Gateway) -> None:
    user = strict.auth(strict.token(sub=str(uuid.uuid4())))
    with httpx.Client(base_url=strict.url) as client:
        for i in range(8):
            resp = client.get("/api/crm/customers", headers=from_ip(f"203.0.113.{i + 1}", **user))
            assert resp.status_code == 200
            assert resp.headers["ratelimit-limit"] == "8"
        assert_limited(client.get("/api/crm/customers", headers=from_ip("203.0.113.99", **user)), 8)
        someone_else = strict.auth(strict.token(sub=str(uuid.uuid4())))
        assert (
            client.get("/api/crm/customers", headers=from_ip("203.0.113.99", **someone_else)).status_code
            == 200
        )


def test_sign_in_and_webhooks_have_tighter_budgets(strict: Gateway) -> None:
    with httpx.Client(base_url=strict.url) as client:
        for _ in range(3):
            resp = client.post("/api/auth/login", json={}, headers=from_ip("192.0.2.50"))
            assert resp.status_code == 200
            assert resp.headers["ratelimit-limit"] == "3", "the tightest budget is reported"
        assert_limited(client.post("/api/auth/login", json={}, headers=from_ip("192.0.2.50")), 3)
        # the same client still has anonymous budget left for other routes
        assert client.get("/api/auth/oauth/providers", headers=from_ip("192.0.2.50")).status_code == 200
        for _ in range(4):
            assert (
                client.post("/webhooks/twilio/voice/status", headers=from_ip("192.0.2.60")).status_code == 200
            )
        assert_limited(client.post("/webhooks/twilio/voice/status", headers=from_ip("192.0.2.60")), 4)


async def test_forwarded_for_from_an_untrusted_client_does_not_change_its_budget(
    kafka_bootstrap: str,
) -> None:
    settings = Settings(
        rate_limits=LIMITS, trusted_proxies=["10.0.0.0/8"], port_offset=free_port_block(31000)
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = ASGITransport(app=app, client=("203.0.113.9", 5555))
        async with AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            statuses = [
                (await client.get("/api/auth/oauth/providers", headers=from_ip(f"198.18.0.{i}"))).status_code
                for i in range(8)
            ]
    assert 429 not in statuses[:6]
    assert statuses[6:] == [429, 429], "rotating X-Forwarded-For from an untrusted peer buys nothing"
