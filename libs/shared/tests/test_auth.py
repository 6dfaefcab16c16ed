"""Token verification and the role/permission guards, with keys the test generates."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, ClassVar

import pytest
from fastapi import APIRouter, Depends
from httpx import ASGITransport, AsyncClient
from pydantic_settings import SettingsConfigDict

from aintech_contracts.rbac import Permission, Role, permissions_for
from aintech_devtools.testing import TestKeys
from aintech_shared.app import create_service_app
from aintech_shared.auth import CurrentPrincipal, Principal, ensure_owner_or_staff, require_permissions
from aintech_shared.settings import ServiceSettings

ISSUER, AUDIENCE = "https://auth.aintech.test", "aintech-api"


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore")
    service_name: ClassVar[str] = "demo"
    db_schema: ClassVar[str] = "demo"


router = APIRouter()


@router.get("/claims/{owner_id}")
async def read_claim(
    owner_id: str, principal: Annotated[Principal, Depends(require_permissions(Permission.claims_read))]
) -> dict[str, str]:
    return {"owner": owner_id, "reader": principal.user_id}


@router.post("/claims/{claim_id}/approve")
async def approve(
    claim_id: str, principal: Annotated[Principal, Depends(require_permissions(Permission.claims_approve))]
) -> dict[str, str]:
    return {"approved": claim_id}


@router.get("/my/policies/{owner_id}")
async def my_policies(owner_id: str, principal: CurrentPrincipal) -> dict[str, str]:
    ensure_owner_or_staff(principal, owner_id)
    return {"owner": owner_id}


@pytest.fixture(scope="module")
def keys() -> TestKeys:
    return TestKeys(issuer=ISSUER, audience=AUDIENCE)


@pytest.fixture
async def client(keys: TestKeys) -> AsyncIterator[AsyncClient]:
    settings = DemoSettings(AINTECH_JWT_ISSUER=ISSUER, AINTECH_JWT_AUDIENCE=AUDIENCE)
    app = create_service_app(
        settings, title="demo", description="demo", routers=[router], with_database=False
    )
    app.state.token_verifier = keys.verifier()
    transport = ASGITransport(app=app)
    async with app.router.lifespan_context(app), AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_missing_token_is_401_with_challenge(client: AsyncClient) -> None:
    resp = await client.get("/claims/u1")
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == "Bearer"
    assert resp.json()["detail"] == "Missing bearer token."


async def test_valid_token_is_accepted(client: AsyncClient, keys: TestKeys) -> None:
    resp = await client.get("/claims/u1", headers=bearer(keys.token(role=Role.agent, sub="agent-7")))
    assert resp.status_code == 200
    assert resp.json() == {"owner": "u1", "reader": "agent-7"}


@pytest.mark.parametrize(
    ("label", "make"),
    [
        ("expired", lambda k: k.token(expires_in=-120)),
        ("wrong audience", lambda k: k.token(aud="another-api")),
        ("wrong issuer", lambda k: k.token(iss="https://evil.example")),
        ("refresh token", lambda k: k.token(typ="refresh")),
        ("unknown role", lambda k: k.token(extra_claims={"role": "root"})),
        ("garbage", lambda k: "not-a-jwt"),
    ],
)
async def test_bad_tokens_are_401(client: AsyncClient, keys: TestKeys, label: str, make: object) -> None:
    token = make(keys)  # type: ignore[operator]
    resp = await client.get("/claims/u1", headers=bearer(token))
    assert resp.status_code == 401, label
    assert resp.headers["content-type"] == "application/problem+json"


async def test_tampered_token_is_401(client: AsyncClient, keys: TestKeys) -> None:
    header, payload, signature = keys.token(role=Role.customer).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"], claims["permissions"] = "admin", permissions_for(Role.admin)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    resp = await client.get("/claims/u1", headers=bearer(f"{header}.{forged}.{signature}"))
    assert resp.status_code == 401


async def test_alg_none_and_other_keys_are_401(client: AsyncClient, keys: TestKeys) -> None:
    def b64(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {
        "sub": "x",
        "role": "admin",
        "sid": "s",
        "iat": now,
        "exp": now + 600,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "permissions": permissions_for(Role.admin),
    }
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': keys.kid})}.{b64(claims)}."
    assert (await client.get("/claims/u1", headers=bearer(unsigned))).status_code == 401
    stranger = TestKeys(issuer=ISSUER, audience=AUDIENCE, kid=keys.kid)  # same kid, other key
    resp = await client.get("/claims/u1", headers=bearer(stranger.token()))
    assert resp.status_code == 401


async def test_permissions_and_object_level_checks_are_403(client: AsyncClient, keys: TestKeys) -> None:
    agent = bearer(keys.token(role=Role.agent))
    denied = await client.post("/claims/c1/approve", headers=agent)
    assert denied.status_code == 403
    assert "claims:approve" in denied.json()["detail"]
    supervisor = bearer(keys.token(role=Role.supervisor))
    assert (await client.post("/claims/c1/approve", headers=supervisor)).status_code == 200
    customer = bearer(keys.token(role=Role.customer, sub="cust-1"))
    assert (await client.get("/claims/u1", headers=customer)).status_code == 403
    assert (await client.get("/my/policies/cust-1", headers=customer)).status_code == 200
    assert (await client.get("/my/policies/cust-2", headers=customer)).status_code == 403
    assert (await client.get("/my/policies/cust-2", headers=agent)).status_code == 200
