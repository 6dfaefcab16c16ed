"""Sign-in with Google or Microsoft (OpenID Connect, code flow with PKCE) and account linking."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import RedirectResponse

from aintech_shared.db import DbSession
from aintech_shared.errors import responses
from authenticator.core.request import Client, public_base_url
from authenticator.core.runtime import RuntimeDep
from authenticator.core.schemas import no_nul_characters
from authenticator.oauth import service
from authenticator.oauth.models import OAuthIdentity
from authenticator.oauth.providers import Providers
from authenticator.oauth.schemas import AuthorizationOut, IdentityOut, ProvidersOut
from authenticator.sessions.caller import CurrentCaller
from authenticator.signin.presenter import login_response
from authenticator.signin.schemas import LoginResponse, TokenResponse, TwoFactorRequired

router = APIRouter(tags=["oauth"], dependencies=[Depends(no_nul_characters)])

# A provider's name: lowercase letters, digits and dashes. An unknown but well-formed name is a 404
# ("Provider not configured"); anything else (control characters, slashes, spaces) is schema-invalid.
ProviderName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{0,31}$", examples=["google"])]

PROVIDER_ERRORS = ((404, "Provider not configured"), (502, "Identity provider unreachable"))


def _redirect_uri(request: Request, provider: str) -> str:
    return f"{public_base_url(request)}/oauth/{provider}/callback"


@router.get("/oauth/providers", response_model=ProvidersOut, summary="Sign-in providers available")
async def list_providers(providers: Providers) -> ProvidersOut:
    return ProvidersOut(providers=providers.names())


@router.get(
    "/oauth/{provider}/login",
    status_code=status.HTTP_302_FOUND,
    response_class=RedirectResponse,
    summary="Start sign-in with a provider (browser redirect)",
    description="Redirects to the provider. State, nonce and the PKCE verifier are kept server-side "
    "for 10 minutes and consumed once by the callback.",
    responses={
        302: {"description": "Redirect to the provider's authorization page"},
        **responses(*PROVIDER_ERRORS),
    },
)
async def login_redirect(
    provider: ProviderName,
    request: Request,
    db: DbSession,
    rt: RuntimeDep,
    providers: Providers,
    client: Client,
) -> RedirectResponse:
    url, _ = await service.start(
        db,
        rt=rt,
        providers=providers,
        provider_name=provider,
        redirect_uri=_redirect_uri(request, provider),
        client=client,
    )
    return RedirectResponse(url, status_code=status.HTTP_302_FOUND, headers={"Cache-Control": "no-store"})


@router.post(
    "/oauth/{provider}/start",
    response_model=AuthorizationOut,
    summary="Start sign-in with a provider (returns the URL)",
    description="Same as the redirect variant, for clients that navigate themselves.",
    responses=responses(*PROVIDER_ERRORS),
)
async def login_start(
    provider: ProviderName,
    request: Request,
    db: DbSession,
    rt: RuntimeDep,
    providers: Providers,
    client: Client,
) -> AuthorizationOut:
    url, row = await service.start(
        db,
        rt=rt,
        providers=providers,
        provider_name=provider,
        redirect_uri=_redirect_uri(request, provider),
        client=client,
    )
    return AuthorizationOut(authorization_url=url, expires_at=row.expires_at)


@router.get(
    "/oauth/{provider}/callback",
    response_model=LoginResponse | IdentityOut,
    summary="Provider callback",
    description="Validates state, exchanges the code with the PKCE verifier, verifies the ID token "
    "(signature, issuer, audience, expiry, nonce). For a sign-in: finds the linked account, or links "
    "an account whose e-mail is verified on both sides, or creates a customer account; answers like "
    "/login (2FA still applies). For a link started from the profile: answers with the identity.",
    responses=responses(
        (400, "Expired/used state, or the user cancelled at the provider"),
        (401, "Code or ID token rejected"),
        (403, "Provider e-mail not verified, or account disabled"),
        (409, "E-mail belongs to an unverified account, or identity linked to someone else"),
        *PROVIDER_ERRORS,
    ),
)
async def callback(
    provider: ProviderName,
    response: Response,
    db: DbSession,
    rt: RuntimeDep,
    providers: Providers,
    client: Client,
    code: Annotated[str | None, Query(max_length=2048)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
) -> TokenResponse | TwoFactorRequired | IdentityOut:
    result = await service.callback(
        db,
        rt=rt,
        providers=providers,
        provider_name=provider,
        code=code,
        state=state,
        error=error,
        client=client,
    )
    if isinstance(result, OAuthIdentity):
        return IdentityOut.model_validate(result)
    return login_response(result, response)


@router.get(
    "/me/identities",
    response_model=list[IdentityOut],
    summary="My linked sign-in providers",
    responses=responses((401, "Missing or invalid access token")),
)
async def my_identities(caller: CurrentCaller, db: DbSession) -> list[IdentityOut]:
    return [IdentityOut.model_validate(i) for i in await service.identities(db, user_id=caller.user_id)]


@router.post(
    "/me/identities/{provider}",
    response_model=AuthorizationOut,
    summary="Link a provider to my account",
    description="Returns the provider URL to open; its callback links the identity to this account.",
    responses=responses((401, "Missing or invalid access token"), *PROVIDER_ERRORS),
)
async def link(
    provider: ProviderName,
    caller: CurrentCaller,
    request: Request,
    db: DbSession,
    rt: RuntimeDep,
    providers: Providers,
    client: Client,
) -> AuthorizationOut:
    url, row = await service.start(
        db,
        rt=rt,
        providers=providers,
        provider_name=provider,
        redirect_uri=_redirect_uri(request, provider),
        client=client,
        link_user_id=caller.user_id,
    )
    return AuthorizationOut(authorization_url=url, expires_at=row.expires_at)


@router.delete(
    "/me/identities/{provider}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Unlink a provider",
    description="Refused when it is the account's only way to sign in (no password, no other provider).",
    responses=responses(
        (401, "Missing or invalid access token"), (404, "Provider not linked"), (409, "Last sign-in method")
    ),
)
async def unlink(provider: ProviderName, caller: CurrentCaller, db: DbSession, client: Client) -> None:
    await service.unlink(db, user=caller.user, provider=provider, client=client)
