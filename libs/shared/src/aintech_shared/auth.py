"""Local verification of the authenticator's RS256 access tokens, and per-endpoint guards."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import jwt
import structlog
from fastapi import Depends, Request

from aintech_contracts.rbac import Permission, Role
from aintech_shared.errors import Forbidden, ServiceUnavailable, Unauthorized

log = structlog.get_logger("aintech.auth")

ALGORITHM = "RS256"
REQUIRED_CLAIMS = ["sub", "exp", "iat", "iss", "aud", "role", "sid"]


@dataclass(frozen=True)
class Principal:
    """Who is calling, as stated by a verified access token."""

    user_id: str
    email: str
    role: Role
    permissions: frozenset[str]
    session_id: str
    claims: dict[str, Any] = field(repr=False, compare=False)

    def has(self, permission: Permission | str) -> bool:
        return str(permission) in self.permissions

    @property
    def is_staff(self) -> bool:
        return self.role is not Role.customer


class JWKSCache:
    """Fetches the authenticator's JWKS and caches it; refetches on an unknown ``kid`` (rate-limited)."""

    def __init__(
        self, url: str, *, ttl: float = 300.0, min_refresh_interval: float = 5.0, timeout: float = 3.0
    ) -> None:
        self.url = url
        self.ttl = ttl
        self.min_refresh_interval = min_refresh_interval
        self.timeout = timeout
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    def set_keys(self, jwks: dict[str, Any]) -> None:
        """Replace the cached key set (used after a fetch, and by tests holding their own keys)."""
        keys: dict[str, jwt.PyJWK] = {}
        for raw in jwks.get("keys", []):
            if raw.get("kty") != "RSA" or raw.get("use", "sig") != "sig" or "kid" not in raw:
                continue
            keys[raw["kid"]] = jwt.PyJWK(raw, algorithm=ALGORITHM)
        self._keys = keys
        self._fetched_at = time.monotonic()

    async def _refresh(self) -> None:
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            response = await client.get(self.url)
            response.raise_for_status()
            self.set_keys(response.json())

    async def get(self, kid: str) -> jwt.PyJWK:
        age = time.monotonic() - self._fetched_at
        if kid in self._keys and age < self.ttl:
            return self._keys[kid]
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            stale = age >= self.ttl or (kid not in self._keys and age >= self.min_refresh_interval)
            if stale:
                try:
                    await self._refresh()
                except (httpx.HTTPError, ValueError) as exc:
                    log.warning("jwks_fetch_failed", url=self.url, error=repr(exc))
                    if not self._keys:
                        raise ServiceUnavailable("Token keys are unavailable; try again shortly.") from exc
        if kid not in self._keys:
            raise Unauthorized("Token signed with an unknown key.")
        return self._keys[kid]


class TokenVerifier:
    """Checks signature (RS256 only), expiry, issuer, audience and required claims."""

    def __init__(self, jwks: JWKSCache, *, issuer: str, audience: str, leeway: float = 10.0) -> None:
        self.jwks = jwks
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise Unauthorized("Malformed access token.") from exc
        if header.get("alg") != ALGORITHM:
            raise Unauthorized("Token algorithm not accepted.")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise Unauthorized("Token has no key id.")
        key = await self.jwks.get(kid)
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("Access token expired.") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"Invalid access token: {exc}.") from exc
        if claims.get("typ", "access") != "access":
            raise Unauthorized("Not an access token.")
        try:
            role = Role(claims["role"])
        except ValueError as exc:
            raise Unauthorized("Token carries an unknown role.") from exc
        return Principal(
            user_id=str(claims["sub"]),
            email=str(claims.get("email", "")),
            role=role,
            permissions=frozenset(claims.get("permissions", [])),
            session_id=str(claims["sid"]),
            claims=claims,
        )


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def get_principal(request: Request) -> Principal:
    """The verified caller; 401 problem+json when the token is missing or invalid."""
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("Missing bearer token.")
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = await verifier.verify(token)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_permissions(*permissions: Permission) -> Callable[..., Awaitable[Principal]]:
    """Dependency factory: the caller must hold every listed permission (403 otherwise)."""

    async def _guard(principal: CurrentPrincipal) -> Principal:
        missing = [p.value for p in permissions if not principal.has(p)]
        if missing:
            raise Forbidden(f"Missing permission(s): {', '.join(missing)}.")
        return principal

    return _guard


def require_roles(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """Dependency factory: the caller's role must be one of ``roles`` (403 otherwise)."""

    async def _guard(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"This action needs one of the roles: {', '.join(r.value for r in roles)}.")
        return principal

    return _guard


def ensure_owner_or_staff(principal: Principal, owner_user_id: str | None) -> None:
    """Object-level check: customers may only touch records that belong to them."""
    if principal.is_staff:
        return
    if owner_user_id is None or owner_user_id != principal.user_id:
        raise Forbidden("You can only access your own records.")
