"""The gateway's signed identity header: who the edge verified, for services to trust only from it.

The gateway verifies the caller's access token once (signature, expiry, revoked sessions) and
passes the result on in ``X-Aintech-Identity``::

    v1.<unix seconds>.<base64url(JSON identity)>.<base64url(HMAC-SHA256)>

The MAC covers the version, the timestamp, the request's ``X-Request-ID`` and the identity, with
a secret only the gateway and the services hold (``AINTECH_IDENTITY_SECRET``). A service accepts
the header only when the MAC matches, the request id is the one it was signed for, the timestamp
is recent (``AINTECH_IDENTITY_MAX_AGE`` seconds) and the token it stands for has not expired.
The gateway drops any such header a client sends. Services still verify the bearer token
themselves (``aintech_shared.auth``); this header tells them the request came through the edge
and carries what the edge decided.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from aintech_shared.context import REQUEST_ID_HEADER
from aintech_shared.errors import Unauthorized

log = structlog.get_logger("aintech.edge")

IDENTITY_HEADER = "x-aintech-identity"
VERSION = "v1"
DEV_IDENTITY_SECRET = "dev-identity-secret-not-for-production"  # noqa: S105 - marker of the default
_CLOCK_SKEW = 5


class EdgeSettings(BaseSettings):
    """The identity header's secret and freshness window (shared by the gateway and every service)."""

    model_config = SettingsConfigDict(extra="ignore")

    identity_secret: SecretStr = Field(
        default=SecretStr(DEV_IDENTITY_SECRET), validation_alias=AliasChoices("AINTECH_IDENTITY_SECRET")
    )
    identity_max_age: float = Field(default=30.0, validation_alias=AliasChoices("AINTECH_IDENTITY_MAX_AGE"))
    env: str = Field(default="development", validation_alias=AliasChoices("AINTECH_ENV"))

    @property
    def uses_default_secret(self) -> bool:
        return self.identity_secret.get_secret_value() == DEV_IDENTITY_SECRET


@dataclass(frozen=True, slots=True)
class EdgeIdentity:
    """The caller as the gateway verified it."""

    user_id: str
    session_id: str
    role: str
    permissions: frozenset[str]
    expires_at: int  # the access token's ``exp`` (unix seconds)

    def has(self, permission: str) -> bool:
        return str(permission) in self.permissions

    def encode(self) -> str:
        """The identity as the header carries it (base64url JSON); the gateway caches it per token."""
        body = {
            "sub": self.user_id,
            "sid": self.session_id,
            "role": self.role,
            "permissions": sorted(self.permissions),
            "exp": self.expires_at,
        }
        raw = json.dumps(body, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, encoded: str) -> EdgeIdentity:
        body = json.loads(_b64decode(encoded))
        if not isinstance(body, dict):
            raise ValueError("identity is not an object")
        permissions = body.get("permissions", [])
        if not isinstance(permissions, list):
            raise ValueError("permissions is not a list")
        return cls(
            user_id=str(body["sub"]),
            session_id=str(body["sid"]),
            role=str(body["role"]),
            permissions=frozenset(str(p) for p in permissions),
            expires_at=int(body["exp"]),
        )


def _b64decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


class _Mac:
    """HMAC-SHA256 with the key schedule computed once (each MAC copies the keyed state)."""

    def __init__(self, secret: str) -> None:
        self._keyed = hmac.new(secret.encode(), digestmod=hashlib.sha256)

    def __call__(self, timestamp: str, request_id: str, payload: str) -> str:
        mac = self._keyed.copy()
        mac.update(f"{VERSION}.{timestamp}.{request_id}.{payload}".encode())
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


class IdentitySigner:
    """Signs an encoded identity for one request (the gateway's side)."""

    def __init__(self, secret: str) -> None:
        self._mac = _Mac(secret)

    def sign(self, payload: str, *, request_id: str, now: int | None = None) -> str:
        timestamp = str(int(time.time()) if now is None else now)
        return f"{VERSION}.{timestamp}.{payload}.{self._mac(timestamp, request_id, payload)}"


class IdentityVerifier:
    """Checks the header a service received (the services' side)."""

    def __init__(self, secret: str, *, max_age: float = 30.0, usable: bool = True) -> None:
        self._mac = _Mac(secret)
        self.max_age = max_age
        self.usable = usable

    @classmethod
    def from_settings(cls, settings: EdgeSettings) -> IdentityVerifier:
        usable = not (settings.env == "production" and settings.uses_default_secret)
        if not usable:
            log.error("identity_secret_default_in_production", variable="AINTECH_IDENTITY_SECRET")
        return cls(
            settings.identity_secret.get_secret_value(), max_age=settings.identity_max_age, usable=usable
        )

    def verify(self, value: str, *, request_id: str, now: float | None = None) -> EdgeIdentity:
        """The identity in ``value``; :class:`Unauthorized` when it is not the gateway's, for this request."""
        if not self.usable:
            raise Unauthorized("The identity header cannot be checked: its secret is not configured.")
        parts = value.split(".")
        if len(parts) != 4 or parts[0] != VERSION or not parts[1].isdigit():
            raise Unauthorized("Malformed identity header.")
        _, timestamp, payload, mac = parts
        expected = self._mac(timestamp, request_id, payload)
        if not hmac.compare_digest(expected, mac):
            raise Unauthorized("The identity header was not signed by the gateway for this request.")
        current = time.time() if now is None else now
        age = current - int(timestamp)
        if age > self.max_age or age < -_CLOCK_SKEW:
            raise Unauthorized("The identity header is stale.")
        try:
            identity = EdgeIdentity.decode(payload)
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise Unauthorized("Malformed identity header.") from exc
        if identity.expires_at < current - _CLOCK_SKEW:
            raise Unauthorized("Access token expired.")
        return identity


def _verifier(request: Request) -> IdentityVerifier:
    state: Any = request.app.state
    verifier: IdentityVerifier | None = getattr(state, "identity_verifier", None)
    if verifier is None:
        verifier = IdentityVerifier.from_settings(EdgeSettings())
        state.identity_verifier = verifier
    return verifier


async def optional_edge_identity(request: Request) -> EdgeIdentity | None:
    """The gateway-verified caller, ``None`` when the request carries no identity (a public route)."""
    value = request.headers.get(IDENTITY_HEADER)
    if value is None:
        return None
    identity = _verifier(request).verify(value, request_id=request.headers.get(REQUEST_ID_HEADER, ""))
    request.state.edge_identity = identity
    return identity


async def edge_identity(request: Request) -> EdgeIdentity:
    """The gateway-verified caller; 401 problem+json when the request did not come through the edge."""
    identity = await optional_edge_identity(request)
    if identity is None:
        raise Unauthorized("This request did not come through the gateway with a verified identity.")
    return identity


EdgeIdentityDep = Annotated[EdgeIdentity, Depends(edge_identity)]
OptionalEdgeIdentityDep = Annotated[EdgeIdentity | None, Depends(optional_edge_identity)]
