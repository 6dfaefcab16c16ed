"""The edge in front of the real fleet: tokens checked before any service, internal surfaces
kept inside, security headers on every answer, a signed identity reaching the services."""

from __future__ import annotations

import httpx

SEED_PASSWORD = "Aintech-Demo-2026!"


def test_tokens_are_checked_at_the_gateway(gw: httpx.Client) -> None:
    missing = gw.get("/api/crm/customers")
    assert missing.status_code == 401
    assert missing.json()["instance"] == "/api/crm/customers", "answered by the gateway, not core-crm"
    forged = gw.get("/api/crm/customers", headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."})
    assert forged.status_code == 401
    login = gw.post("/api/auth/login", json={"email": "agent1@aintech.com", "password": SEED_PASSWORD})
    assert login.status_code == 200, "sign-in is public"
    assert int(login.headers["ratelimit-limit"]) > 0
    me = gw.get("/api/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"})
    assert me.status_code == 200 and me.json()["email"] == "agent1@aintech.com"
    for name in ("x-content-type-options", "x-frame-options", "referrer-policy", "content-security-policy"):
        assert name in me.headers
    assert "server" not in me.headers


def test_services_internal_surfaces_stay_inside(gw: httpx.Client) -> None:
    for path in ("/api/auth/metrics", "/api/auth/openapi.json", "/api/auth/docs", "/api/auth/readyz"):
        resp = gw.get(path)
        assert resp.status_code in (401, 404), path
        assert "http_requests_total" not in resp.text
    assert gw.get("/openapi.json").status_code == 200
    login = gw.post("/api/auth/login", json={"email": "agent1@aintech.com", "password": SEED_PASSWORD})
    slash = gw.get("/api/auth/me/", headers={"Authorization": f"Bearer {login.json()['access_token']}"})
    assert slash.status_code == 307, "the authenticator's trailing-slash redirect"
    assert slash.headers["location"] == "/api/auth/me", "public and relative, never the service's address"
