"""OpenID Connect providers: discovery, authorization URLs (PKCE), code exchange, ID-token checks."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import jwt
import structlog
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi import Depends, Request

from aintech_shared.errors import AppError, NotFound, Unauthorized
from authenticator.core.crypto import digests_match
from authenticator.settings import OAuthProviderConfig, Settings

log = structlog.get_logger("authenticator.oauth")

METADATA_TTL = 3600.0
ID_TOKEN_ALGORITHMS = ["RS256"]


class BadGateway(AppError):
    status, slug, title = 502, "bad-gateway", "Identity provider error"


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str | None
    authorize_url: str
    token_url: str
    jwks_url: str


class Provider:
    """One configured OpenID Connect provider, with cached discovery metadata and keys."""

    def __init__(self, config: OAuthProviderConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self.http = http
        self._metadata: ProviderMetadata | None = None
        self._metadata_at = 0.0
        self._keys: dict[str, jwt.PyJWK] = {}
        self._keys_at = 0.0
        self._lock = asyncio.Lock()

    @property
    def name(self) -> str:
        return self.config.name

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self.http.get(url)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("oauth_provider_unreachable", provider=self.name, url=url, error=repr(exc))
            raise BadGateway(
                f"{self.name.title()} sign-in is unavailable right now; try again later."
            ) from exc
        if not isinstance(data, dict):
            raise BadGateway(f"{self.name.title()} returned an unexpected response.")
        return data

    async def metadata(self) -> ProviderMetadata:
        if self._metadata is not None and time.monotonic() - self._metadata_at < METADATA_TTL:
            return self._metadata
        async with self._lock:
            cfg = self.config
            discovered: dict[str, Any] = {}
            if cfg.discovery_url and not (cfg.authorize_url and cfg.token_url and cfg.jwks_url):
                discovered = await self._get_json(cfg.discovery_url)
            authorize = cfg.authorize_url or discovered.get("authorization_endpoint")
            token = cfg.token_url or discovered.get("token_endpoint")
            jwks = cfg.jwks_url or discovered.get("jwks_uri")
            if not (authorize and token and jwks):
                raise BadGateway(f"{self.name.title()} sign-in is misconfigured (endpoints missing).")
            self._metadata = ProviderMetadata(
                issuer=cfg.issuer or discovered.get("issuer"),
                authorize_url=str(authorize),
                token_url=str(token),
                jwks_url=str(jwks),
            )
            self._metadata_at = time.monotonic()
            return self._metadata

    async def authorization_url(
        self, *, redirect_uri: str, state: str, nonce: str, code_verifier: str
    ) -> str:
        meta = await self.metadata()
        params = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.config.scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(code_verifier),
            "code_challenge_method": "S256",
            "prompt": "select_account",
        }
        return str(add_params_to_uri(meta.authorize_url, list(params.items())))

    async def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> dict[str, Any]:
        """Trade the authorization code (with the PKCE verifier) for the provider's tokens."""
        meta = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret,
            "code_verifier": code_verifier,
        }
        try:
            response = await self.http.post(meta.token_url, data=form, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            log.warning("oauth_token_exchange_failed", provider=self.name, error=repr(exc))
            raise BadGateway(
                f"{self.name.title()} sign-in is unavailable right now; try again later."
            ) from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 500:
            log.warning("oauth_token_endpoint_failed", provider=self.name, status=response.status_code)
            raise BadGateway(f"{self.name.title()} sign-in is unavailable right now; try again later.")
        if response.status_code != 200 or not isinstance(body, dict) or "id_token" not in body:
            log.warning(
                "oauth_token_exchange_rejected",
                provider=self.name,
                status=response.status_code,
                error=body.get("error") if isinstance(body, dict) else None,
            )
            raise Unauthorized(f"{self.name.title()} did not accept the sign-in; start again.")
        return body

    async def _key(self, kid: str | None) -> jwt.PyJWK:
        fresh = time.monotonic() - self._keys_at < METADATA_TTL
        if kid in self._keys and fresh:
            return self._keys[kid or ""]
        meta = await self.metadata()
        jwks = await self._get_json(meta.jwks_url)
        keys: dict[str, jwt.PyJWK] = {}
        for raw in jwks.get("keys", []):
            if raw.get("kty") == "RSA" and raw.get("use", "sig") == "sig" and raw.get("kid"):
                keys[raw["kid"]] = jwt.PyJWK(raw, algorithm="RS256")
        self._keys, self._keys_at = keys, time.monotonic()
        if kid is None and len(keys) == 1:
            return next(iter(keys.values()))
        if kid not in keys:
            raise Unauthorized(f"{self.name.title()} signed the sign-in with an unknown key.")
        return keys[kid or ""]

    async def validate_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """Verify the ID token's signature, issuer, audience, expiry and nonce; returns its claims."""
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.InvalidTokenError as exc:
            raise Unauthorized("The identity provider returned a malformed ID token.") from exc
        if header.get("alg") not in ID_TOKEN_ALGORITHMS:
            raise Unauthorized("The ID token is not signed with an accepted algorithm.")
        key = await self._key(header.get("kid"))
        meta = await self.metadata()
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key=key.key,
                algorithms=ID_TOKEN_ALGORITHMS,
                audience=self.config.client_id,
                leeway=60,
                options={"require": ["iss", "sub", "aud", "exp", "iat"], "verify_iss": False},
            )
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"The ID token was rejected: {exc}.") from exc
        expected_issuer = meta.issuer
        if expected_issuer and "{tenantid}" in expected_issuer:
            expected_issuer = expected_issuer.replace("{tenantid}", str(claims.get("tid", "")))
        if expected_issuer and claims.get("iss") != expected_issuer:
            raise Unauthorized("The ID token comes from an unexpected issuer.")
        token_nonce = claims.get("nonce")
        if not isinstance(token_nonce, str) or not digests_match(nonce, token_nonce):
            raise Unauthorized("The ID token does not belong to this sign-in (nonce mismatch).")
        return claims


class ProviderRegistry:
    """The configured providers, sharing one HTTP client."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None) -> None:
        self.http = http or httpx.AsyncClient(
            timeout=settings.oauth_http_timeout_seconds, follow_redirects=False
        )
        self._providers = {
            name: Provider(cfg, self.http)
            for name, cfg in settings.oauth_providers().items()
            if cfg.configured
        }

    def names(self) -> list[str]:
        return sorted(self._providers)

    def get(self, name: str) -> Provider:
        provider = self._providers.get(name)
        if provider is None:
            raise NotFound(f"Sign-in with {name!r} is not available.")
        return provider

    async def close(self) -> None:
        await self.http.aclose()


def get_providers(request: Request) -> ProviderRegistry:
    registry: ProviderRegistry = request.app.state.oauth_providers
    return registry


Providers = Annotated[ProviderRegistry, Depends(get_providers)]


def email_is_verified(provider: str, claims: dict[str, Any]) -> bool:
    """Whether the provider vouches for the e-mail address in ``claims``."""
    value = claims.get("email_verified")
    if isinstance(value, str):
        value = value.lower() == "true"
    if value is True:
        return True
    # Microsoft Entra: `xms_edov` marks an e-mail whose domain the tenant has verified.
    edov = claims.get("xms_edov")
    return provider == "microsoft" and (edov is True or edov == "1" or edov == "true")
