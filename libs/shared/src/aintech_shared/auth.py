"""Local verification of the authenticator's RS256 access tokens, and per-endpoint guards.

Verification keys are parsed once per JWKS fetch. A token that passed verification is kept in a
bounded LRU (keyed by the whole token string) until its ``exp``, so a client presenting the same
token again costs a dictionary lookup instead of an RSA check and PyJWT's parsing; the key that
signed it must still be published (a key dropped from the JWKS drops its tokens at the next
refresh). Revocation is not a property of the token: the gateway's denylist and the
authenticator's own session check run on every request, cached or not.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Annotated, Any

import httpx
import jwt
import orjson
import structlog
from fastapi import Depends, Request

from aintech_contracts.rbac import Permission, Role
from aintech_shared.errors import Forbidden, ServiceUnavailable, Unauthorized

log = structlog.get_logger("aintech.auth")

ALGORITHM = "RS256"
REQUIRED_CLAIMS = ["sub", "exp", "iat", "iss", "aud", "role", "sid"]
MAX_TOKEN_LENGTH = 8192  # ours are ~1 KB; anything far longer is refused before parsing
DEFAULT_TOKEN_CACHE_SIZE = 4096


@dataclass(frozen=True)
class Principal:
    """Who is calling, as stated by a verified access token."""

    user_id: str
    email: str
    role: Role
    permissions: frozenset[str]
    session_id: str
    claims: Mapping[str, Any] = field(repr=False, compare=False)  # read-only: shared by cached hits

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
        self._raw: dict[str, dict[str, Any]] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    def set_keys(self, jwks: dict[str, Any]) -> None:
        """Replace the cached key set (used after a fetch, and by tests holding their own keys).

        A key already held with the same JWK is kept as parsed; only new or changed keys are loaded.
        """
        keys: dict[str, jwt.PyJWK] = {}
        raws: dict[str, dict[str, Any]] = {}
        for raw in jwks.get("keys", []):
            if raw.get("kty") != "RSA" or raw.get("use", "sig") != "sig" or "kid" not in raw:
                continue
            kid = raw["kid"]
            known = self._keys.get(kid)
            unchanged = known is not None and self._raw.get(kid) == raw
            keys[kid] = known if unchanged and known is not None else jwt.PyJWK(raw, algorithm=ALGORITHM)
            raws[kid] = dict(raw)
        self._keys, self._raw = keys, raws
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


class VerifiedTokens:
    """A bounded LRU of verified tokens, each valid until its ``exp`` (never past it).

    Keyed by the exact token string: a token differing in any byte (a tampered signature or
    payload) is a miss and goes through full verification.
    """

    def __init__(self, maxsize: int = DEFAULT_TOKEN_CACHE_SIZE) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[str, tuple[float, str, Principal]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str, now: float) -> tuple[str, Principal] | None:
        """The (kid, principal) of a cached token still before its expiry, else None."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        expires_at, kid, principal = entry
        if now >= expires_at:
            del self._entries[token]
            return None
        self._entries.move_to_end(token)
        return kid, principal

    def put(self, token: str, *, now: float, expires_at: float, kid: str, principal: Principal) -> None:
        """Remember a verified token; one already past its ``exp`` (accepted within leeway) is not kept."""
        if self.maxsize <= 0 or now >= expires_at:
            return
        self._entries[token] = (expires_at, kid, principal)
        self._entries.move_to_end(token)
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


def _unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header, only to pick the key: PyJWT parses and checks the whole token after."""
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        raise Unauthorized("Malformed access token.")
    segment = token[: token.index(".")]
    try:
        header = orjson.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError) as exc:  # orjson.JSONDecodeError is a ValueError
        raise Unauthorized("Malformed access token.") from exc
    if not isinstance(header, dict):
        raise Unauthorized("Malformed access token.")
    return header


class TokenVerifier:
    """Checks signature (RS256 only), expiry, issuer, audience and required claims."""

    def __init__(
        self,
        jwks: JWKSCache,
        *,
        issuer: str,
        audience: str,
        leeway: float = 10.0,
        cache_size: int = DEFAULT_TOKEN_CACHE_SIZE,
    ) -> None:
        self.jwks = jwks
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.verified = VerifiedTokens(cache_size)
        self._options: jwt.types.Options = {"require": REQUIRED_CLAIMS}

    async def verify(self, token: str) -> Principal:
        now = time.time()
        hit = self.verified.get(token, now)
        if hit is not None:
            await self.jwks.get(hit[0])  # the key that signed it must still be published
            return hit[1]
        header = _unverified_header(token)
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
                options=self._options,
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
        principal = Principal(
            user_id=str(claims["sub"]),
            email=str(claims.get("email", "")),
            role=role,
            permissions=frozenset(claims.get("permissions", [])),
            session_id=str(claims["sid"]),
            claims=MappingProxyType(claims),
        )
        exp = claims["exp"]
        if isinstance(exp, int | float):
            self.verified.put(token, now=now, expires_at=float(exp), kid=kid, principal=principal)
        return principal


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
