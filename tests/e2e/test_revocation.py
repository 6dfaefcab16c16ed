"""Sign-out is immediate everywhere: after logout the access token is refused by the gateway for
every service, not only by the authenticator, without waiting for the token to expire.

The authenticator publishes `session.revoked` (topic auth.session) from its outbox; the gateway's
denylist feed reads it. Until the authenticator publishes that event this test fails: core-crm
would keep accepting the signed-out token for up to 15 minutes.
"""

from __future__ import annotations

import time

import httpx

SEED_PASSWORD = "Aintech-Demo-2026!"


def test_logout_makes_the_token_401_everywhere_at_once(gw: httpx.Client) -> None:
    login = gw.post("/api/auth/login", json={"email": "agent2@aintech.com", "password": SEED_PASSWORD})
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    before = gw.get("/api/crm/e2e-revocation-probe", headers=headers)
    assert before.status_code == 404, "the token passes the edge (core-crm answers its own 404)"
    assert gw.post("/api/auth/logout", headers=headers).status_code == 204
    deadline = time.monotonic() + 60
    status = before.status_code
    while time.monotonic() < deadline:
        resp = gw.get("/api/crm/e2e-revocation-probe", headers=headers)
        status = resp.status_code
        if status == 401:
            assert resp.json()["instance"] == "/api/crm/e2e-revocation-probe", "refused by the gateway"
            break
        time.sleep(0.1)
    assert status == 401, "the signed-out token still reached core-crm 60 s after logout"
