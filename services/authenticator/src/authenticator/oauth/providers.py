"""OpenID Connect providers through Authlib: discovery, the authorization URL (state, nonce, PKCE),
the code exchange and the ID-token checks (signature against the provider's JWKS, issuer,
audience, expiry, nonce). Discovery metadata and the provider's key set are cached by Authlib; an
unknown key id makes it fetch the key set again (the provider rotated its keys).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import httpx
import structlog
from authlib.integrations.starlette_client import OAuth, OAuthError, StarletteOAuth2App
from fastapi import Depends, Request
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError

from aintech_shared.errors import AppError, NotFound, Unauthorized
from authenticator.settings import OAuthProviderConfig, Settings

log = structlog.get_logger("authenticator.oauth")

ID_TOKEN_LEEWAY_SECONDS = 60

# Authlib talks HTTP through httpx2 when it is installed, httpx otherwise.
_HTTP_ERRORS: tuple[type[Exception], ...] = (httpx.HTTPError,)
try:
    import httpx2

    _HTTP_ERRORS = (httpx.HTTPError, httpx2.HTTPError)
except ImportError:  # pragma: no cover - depends on the environment
    pass
_UNREACHABLE: tuple[type[Exception], ...] = (*_HTTP_ERRORS, ValueError, RuntimeError)
_CLAIM_NAMES = {"aud": "audience", "iss": "issuer", "nonce": "nonce", "azp": "authorized party"}


class BadGateway(AppError):
    status, slug, title = 502, "bad-gateway", "Identity provider error"


def _unavailable(name: str) -> BadGateway:
    return BadGateway(f"{name.title()} sign-in is unavailable right now; try again later.")


def _rejected(claims_error: JoseError) -> Unauthorized:
    if isinstance(claims_error, ExpiredTokenError):
        return Unauthorized("The ID token was rejected: it has expired.")
    if isinstance(claims_error, ClaimError):
        claim = _CLAIM_NAMES.get(claims_error.claim, claims_error.claim)
        return Unauthorized(f"The ID token was rejected: its {claim} does not belong to this sign-in.")
    return Unauthorized("The ID token was rejected: it is not signed by the provider.")


class Provider:
    """One configured OpenID Connect provider, registered with Authlib."""

    def __init__(self, config: OAuthProviderConfig, client: StarletteOAuth2App) -> None:
        self.config = config
        self._client = client

    @property
    def name(self) -> str:
        return self.config.name

    async def authorization_url(
        self, *, redirect_uri: str, state: str, nonce: str, code_verifier: str
    ) -> str:
        """The provider's authorization URL for this sign-in (code flow, S256 PKCE challenge)."""
        try:
            created = await self._client.create_authorization_url(
                redirect_uri,
                state=state,
                nonce=nonce,
                code_verifier=code_verifier,
                prompt="select_account",
            )
        except _UNREACHABLE as exc:
            log.warning("oauth_discovery_failed", provider=self.name, error=repr(exc))
            raise _unavailable(self.name) from exc
        return str(created["url"])

    async def verified_claims(
        self, *, code: str, redirect_uri: str, code_verifier: str, nonce: str
    ) -> dict[str, Any]:
        """Trade the code (with the PKCE verifier) for tokens and return the checked ID-token claims."""
        try:
            token = await self._client.fetch_access_token(
                redirect_uri=redirect_uri, code=code, code_verifier=code_verifier
            )
        except OAuthError as exc:
            log.warning("oauth_token_exchange_rejected", provider=self.name, error=exc.error)
            raise Unauthorized(f"{self.name.title()} did not accept the sign-in; start again.") from exc
        except _UNREACHABLE as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None)
            log.warning("oauth_token_exchange_failed", provider=self.name, status=status, error=repr(exc))
            if isinstance(status, int) and status < 500:
                raise Unauthorized(f"{self.name.title()} did not accept the sign-in; start again.") from exc
            raise _unavailable(self.name) from exc
        if "id_token" not in token:
            raise Unauthorized(f"{self.name.title()} returned no ID token; start again.")
        try:
            claims = await self._client.parse_id_token(
                token,
                nonce=nonce,
                claims_options=await self._claims_options(),
                leeway=ID_TOKEN_LEEWAY_SECONDS,
            )
        except JoseError as exc:
            log.warning("oauth_id_token_rejected", provider=self.name, error=repr(exc))
            raise _rejected(exc) from exc
        except _UNREACHABLE as exc:
            log.warning("oauth_jwks_unavailable", provider=self.name, error=repr(exc))
            raise _unavailable(self.name) from exc
        return dict(claims)

    async def _claims_options(self) -> dict[str, Any]:
        """Issuer and audience are essential and must match; a ``{tenantid}`` issuer (Microsoft's
        multi-tenant endpoint) must match with the token's own ``tid``."""
        metadata = await self._client.load_server_metadata()
        issuer = self.config.issuer or metadata.get("issuer")
        options: dict[str, Any] = {"aud": {"essential": True, "values": [self.config.client_id]}}
        if issuer and "{tenantid}" in issuer:
            options["iss"] = {"essential": True, "validate": _tenant_issuer(issuer)}
        elif issuer:
            options["iss"] = {"essential": True, "values": [issuer]}
        return options


def _tenant_issuer(template: str) -> Callable[[Any, Any], bool]:
    def matches(claims: Any, value: Any) -> bool:
        return value == template.replace("{tenantid}", str(claims.get("tid", "")))

    return matches


class ProviderRegistry:
    """The configured providers."""

    def __init__(self, settings: Settings) -> None:
        oauth = OAuth()
        self._providers: dict[str, Provider] = {}
        for name, cfg in settings.oauth_providers().items():
            if not cfg.configured:
                continue
            explicit = bool(cfg.authorize_url and cfg.token_url and cfg.jwks_url)
            metadata = {k: v for k, v in (("issuer", cfg.issuer), ("jwks_uri", cfg.jwks_url)) if v}
            oauth.register(
                name,
                client_id=cfg.client_id,
                client_secret=cfg.client_secret,
                server_metadata_url=None if explicit else cfg.discovery_url,
                authorize_url=cfg.authorize_url,
                access_token_url=cfg.token_url,
                client_kwargs={
                    "scope": cfg.scope,
                    "code_challenge_method": "S256",
                    "token_endpoint_auth_method": "client_secret_post",
                    "timeout": settings.oauth_http_timeout_seconds,
                },
                **metadata,
            )
            client = oauth.create_client(name)
            assert isinstance(client, StarletteOAuth2App)
            self._providers[name] = Provider(cfg, client)

    def names(self) -> list[str]:
        return sorted(self._providers)

    def get(self, name: str) -> Provider:
        provider = self._providers.get(name)
        if provider is None:
            raise NotFound(f"Sign-in with {name!r} is not available.")
        return provider


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
