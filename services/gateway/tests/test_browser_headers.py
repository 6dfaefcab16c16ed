"""Security headers on every answer, HSTS only over HTTPS, and CORS from the allow-list."""

from __future__ import annotations

import httpx

from aintech_shared.docs import DOCS_CSP

from .conftest import Gateway

APP = "https://app.aintech.example"  # in GATEWAY_CORS_ORIGINS of the test gateway


def assert_secure(resp: httpx.Response) -> None:
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]
    assert resp.headers["referrer-policy"] == "no-referrer"
    assert "server" not in resp.headers


def test_every_answer_carries_the_security_headers(gateway: Gateway) -> None:
    auth = gateway.auth(gateway.token())
    with httpx.Client(base_url=gateway.url) as client:
        answers = [
            client.get("/api/crm/customers", headers=auth),  # forwarded
            client.get("/api/crm/customers"),  # 401 at the edge
            client.get("/api/payroll/x"),  # 404 at the edge
            client.get("/api/crm/boom", headers=auth),  # the service's 500
            client.get("/docs"),
            client.get("/healthz"),
        ]
        for resp in answers:
            assert_secure(resp)
            assert "strict-transport-security" not in resp.headers, "plain HTTP: no HSTS"
        # The API page: its own scripts and styles only, never framed.
        assert answers[4].headers["content-security-policy"] == DOCS_CSP
        assert answers[0].headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        behind_tls = client.get("/api/crm/customers", headers={**auth, "X-Forwarded-Proto": "https"})
        assert behind_tls.headers["strict-transport-security"].startswith("max-age=")
        assert behind_tls.json()["headers"]["x-forwarded-proto"] == "https"


def test_cors_preflight_from_an_allowed_origin(gateway: Gateway) -> None:
    resp = httpx.options(
        f"{gateway.url}/api/crm/customers",
        headers={
            "Origin": APP,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type, x-request-id",
        },
    )
    assert resp.status_code == 204
    assert resp.headers["access-control-allow-origin"] == APP
    assert "PATCH" in resp.headers["access-control-allow-methods"]
    assert "Authorization" in resp.headers["access-control-allow-headers"]
    assert resp.headers["access-control-allow-credentials"] == "true"
    assert resp.headers["access-control-max-age"] == "600"
    assert "Origin" in resp.headers["vary"]


def test_disallowed_origins_get_no_cors_headers(gateway: Gateway) -> None:
    auth = gateway.auth(gateway.token())
    with httpx.Client(base_url=gateway.url) as client:
        preflight = client.options(
            "/api/crm/customers",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        bad_header = client.options(
            "/api/crm/customers",
            headers={
                "Origin": APP,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "x-evil",
            },
        )
        simple = client.get("/api/crm/customers", headers={**auth, "Origin": "https://evil.example"})
        for resp in (preflight, bad_header, simple):
            assert not [h for h in resp.headers if h.startswith("access-control-")], resp.headers
        assert (
            preflight.status_code == 403 and preflight.headers["content-type"] == "application/problem+json"
        )
        allowed = client.get("/api/crm/customers", headers={**auth, "Origin": APP})
        assert allowed.headers["access-control-allow-origin"] == APP
        assert "RateLimit-Remaining" in allowed.headers["access-control-expose-headers"]
        # a service cannot widen the policy: its own CORS headers are dropped
        wide = client.get("/api/crm/cors-wide", headers={**auth, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in wide.headers
