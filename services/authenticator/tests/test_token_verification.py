"""Another service, verifying locally against the authenticator's JWKS served over real HTTP."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, ClassVar

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Depends, FastAPI
from httpx import ASGITransport, AsyncClient

from aintech_contracts.rbac import Permission
from aintech_shared.app import create_service_app
from aintech_shared.auth import JWKSCache, Principal, TokenVerifier, require_permissions
from aintech_shared.db import Database
from aintech_shared.settings import ServiceSettings
from authenticator.app import create_app
from authenticator.settings import Settings
from authenticator.tokens.keys import build_key_store

from .conftest import PASSWORD, make_settings
from .fake_oidc import FakeOIDC, ThreadedServer


class ClaimsSettings(ServiceSettings):
    service_name: ClassVar[str] = "claims-demo"


@pytest.fixture(scope="module")
def auth_server(oidc: FakeOIDC, admin_database_url: str) -> Any:
    settings = make_settings(oidc)
    server = ThreadedServer(create_app(settings))
    server.start()
    yield server, settings
    server.stop()


@pytest.fixture
async def claims_app(auth_server: Any) -> AsyncIterator[AsyncClient]:
    server, settings = auth_server
    router = APIRouter()

    @router.get("/claims/{claim_id}")
    async def read_claim(
        claim_id: str, principal: Annotated[Principal, Depends(require_permissions(Permission.claims_read))]
    ) -> dict[str, str]:
        return {"claim_id": claim_id, "viewer": principal.email, "role": principal.role.value}

    app: FastAPI = create_service_app(
        ClaimsSettings(), title="claims", description="demo", routers=[router], with_database=False
    )
    app.state.token_verifier = TokenVerifier(
        JWKSCache(f"{server.url}/.well-known/jwks.json"),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://claims") as c,
    ):
        yield c


async def _sign_in(base_url: str, role_hint: str) -> dict[str, Any]:
    email = f"{role_hint}-{uuid.uuid4().hex[:8]}@example.com"
    async with httpx.AsyncClient(base_url=base_url) as http:
        registered = await http.post(
            "/register", json={"email": email, "password": PASSWORD, "first_name": "Eva", "last_name": "Sanz"}
        )
        assert registered.status_code in (201, 202), registered.text
        login = await http.post("/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        return dict(login.json())


async def _mint(settings: Settings, **overrides: Any) -> str:
    """Sign custom claims with the authenticator's own active key (read from its key store)."""
    keys = build_key_store(settings, cache_seconds=settings.key_cache_seconds)
    db = Database(settings.service_database_url, schema="auth", pool_size=1)
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(uuid.uuid4()),
        "email": "agent@example.com",
        "role": "agent",
        "permissions": ["claims:read"],
        "sid": str(uuid.uuid4()),
        "typ": "access",
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    try:
        async with db.transaction() as session:
            return await keys.sign(session, claims)
    finally:
        await db.dispose()


async def test_other_service_accepts_tokens_and_enforces_permissions(
    auth_server: Any, claims_app: AsyncClient
) -> None:
    server, settings = auth_server
    customer = await _sign_in(server.url, "customer")

    forbidden = await claims_app.get(
        "/claims/42", headers={"Authorization": f"Bearer {customer['access_token']}"}
    )
    assert forbidden.status_code == 403
    assert "claims:read" in forbidden.json()["detail"]
    agent_token = await _mint(settings)
    ok = await claims_app.get("/claims/42", headers={"Authorization": f"Bearer {agent_token}"})
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"claim_id": "42", "viewer": "agent@example.com", "role": "agent"}
    assert (await claims_app.get("/claims/42")).status_code == 401


async def test_other_service_rejects_bad_tokens(auth_server: Any, claims_app: AsyncClient) -> None:
    _, settings = auth_server
    good = await _mint(settings)
    header, payload, signature = good.split(".")
    forged_payload = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(b'"role":"agent"', b'"role":"admin"')
    ).decode()
    kid = jwt.get_unverified_header(good)["kid"]
    now = int(time.time())
    attacker_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = jwt.decode(good, options={"verify_signature": False})

    cases = {
        "expired": await _mint(settings, iat=now - 3600, exp=now - 600),
        "tampered": f"{header}.{forged_payload}.{signature}",
        "wrong audience": await _mint(settings, aud="some-other-api"),
        "wrong issuer": await _mint(settings, iss="https://evil.example"),
        "alg none": jwt.encode(claims, None, algorithm="none", headers={"kid": kid}),  # type: ignore[arg-type]
        "foreign key": jwt.encode(claims, attacker_key, algorithm="RS256", headers={"kid": kid}),
        "HS256 with public key": jwt.api_jws.PyJWS().encode(
            jwt.utils.base64url_decode(payload), b"x" * 32, algorithm="HS256", headers={"kid": kid}
        ),
        "refresh-type": await _mint(settings, typ="refresh"),
    }
    for name, token in cases.items():
        response = await claims_app.get("/claims/7", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, f"{name}: {response.status_code} {response.text}"
        assert response.headers["content-type"] == "application/problem+json"
    expired = await claims_app.get("/claims/7", headers={"Authorization": f"Bearer {cases['expired']}"})
    assert expired.json()["detail"] == "Access token expired."
