"""The gateway's identity header: only a header the gateway signed, for this request, recently, counts."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from aintech_shared.edge import (
    DEV_IDENTITY_SECRET,
    EdgeIdentity,
    EdgeIdentityDep,
    EdgeSettings,
    IdentitySigner,
    IdentityVerifier,
)
from aintech_shared.errors import Unauthorized, install_error_handlers

SECRET = "s3cret-shared-by-gateway-and-services"
WHO = EdgeIdentity(
    user_id="6f1c8a2e-0000-4000-8000-000000000001",
    session_id="9d2b7c1a-0000-4000-8000-000000000002",
    role="agent",
    permissions=frozenset({"customers:read", "claims:read"}),
    expires_at=int(time.time()) + 600,
)


def signed(request_id: str = "req-1", *, now: int | None = None, who: EdgeIdentity = WHO) -> str:
    return IdentitySigner(SECRET).sign(who.encode(), request_id=request_id, now=now)


def test_a_header_signed_for_this_request_is_accepted() -> None:
    identity = IdentityVerifier(SECRET).verify(signed("req-1"), request_id="req-1")
    assert identity == WHO
    assert identity.has("claims:read") and not identity.has("claims:approve")


REFUSED: dict[str, tuple[Callable[[], str], str]] = {
    "replayed on another request": (lambda: signed("req-1"), "req-2"),
    "stale": (lambda: signed("req-1", now=int(time.time()) - 120), "req-1"),
    "from the future": (lambda: signed("req-1", now=int(time.time()) + 120), "req-1"),
    "other secret": (
        lambda: IdentitySigner("another-secret").sign(WHO.encode(), request_id="req-1"),
        "req-1",
    ),
    "unknown version": (lambda: signed("req-1").replace("v1.", "v2.", 1), "req-1"),
    "malformed timestamp": (lambda: "v1.notanumber.e30.AAAA", "req-1"),
    "garbage": (lambda: "garbage", "req-1"),
}


@pytest.mark.parametrize("why", sorted(REFUSED))
def test_anything_else_is_refused(why: str) -> None:
    make, request_id = REFUSED[why]
    with pytest.raises(Unauthorized):
        IdentityVerifier(SECRET).verify(make(), request_id=request_id)


def test_a_tampered_identity_is_refused() -> None:
    version, ts, _payload, mac = signed("req-1").split(".")
    admin = EdgeIdentity(WHO.user_id, WHO.session_id, "admin", frozenset({"users:manage"}), WHO.expires_at)
    with pytest.raises(Unauthorized):
        IdentityVerifier(SECRET).verify(f"{version}.{ts}.{admin.encode()}.{mac}", request_id="req-1")


def test_an_identity_whose_token_expired_is_refused() -> None:
    expired = EdgeIdentity(WHO.user_id, WHO.session_id, "agent", frozenset(), int(time.time()) - 60)
    with pytest.raises(Unauthorized, match="expired"):
        IdentityVerifier(SECRET).verify(signed("r", who=expired), request_id="r")


def test_production_with_the_default_secret_trusts_no_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AINTECH_ENV", "production")
    monkeypatch.delenv("AINTECH_IDENTITY_SECRET", raising=False)
    verifier = IdentityVerifier.from_settings(EdgeSettings())
    forged = IdentitySigner(DEV_IDENTITY_SECRET).sign(WHO.encode(), request_id="r")
    with pytest.raises(Unauthorized):
        verifier.verify(forged, request_id="r")


async def test_the_dependency_gives_routes_the_verified_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AINTECH_IDENTITY_SECRET", SECRET)
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/whoami")
    async def whoami(who: EdgeIdentityDep) -> dict[str, str]:
        return {"user_id": who.user_id, "role": who.role}

    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://svc") as client:
        ok = await client.get("/whoami", headers={"x-aintech-identity": signed("abc"), "x-request-id": "abc"})
        assert ok.json() == {"user_id": WHO.user_id, "role": "agent"}
        missing = await client.get("/whoami")
        assert missing.status_code == 401
        assert missing.headers["content-type"] == "application/problem+json"
        other = await client.get(
            "/whoami", headers={"x-aintech-identity": signed("abc"), "x-request-id": "xyz"}
        )
        assert other.status_code == 401
