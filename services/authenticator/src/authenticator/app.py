"""authenticator HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from aintech_shared.app import create_service_app
from aintech_shared.auth import TokenVerifier
from aintech_shared.db import Database
from authenticator.accounts.router import router as accounts_router
from authenticator.admin.router import router as admin_router
from authenticator.core.runtime import build_runtime
from authenticator.oauth.providers import ProviderRegistry
from authenticator.oauth.router import router as oauth_router
from authenticator.sessions.router import router as sessions_router
from authenticator.settings import Settings
from authenticator.signin.router import router as signin_router
from authenticator.tokens.keys import LocalJWKSCache, build_key_store
from authenticator.tokens.router import router as tokens_router
from authenticator.twofactor.router import router as twofactor_router

DESCRIPTION = """
Accounts, sign-in and tokens for every AINTECH app.

* **Access tokens** are RS256 JWTs valid for 15 minutes, verified by every service against
  `/.well-known/jwks.json`. Claims: `sub`, `email`, `role`, `permissions`, `sid`, `iat`, `exp`,
  `iss`, `aud`, `typ=access`, `jti`, `amr`.
* **Refresh tokens** are opaque, valid 7 days and rotate on every use; reusing one revokes its session.
* Errors are RFC 9457 `application/problem+json`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the authenticator application."""
    settings = settings or Settings()

    @asynccontextmanager
    async def runtime_hook(app: FastAPI) -> AsyncIterator[None]:
        keys = build_key_store(settings, cache_seconds=settings.key_cache_seconds)
        runtime = build_runtime(settings, keys=keys)
        db: Database = app.state.db
        async with db.transaction() as session:
            await keys.ensure_active_key(session)
        await runtime.hasher.warm_up()
        providers = ProviderRegistry(settings)
        app.state.runtime = runtime
        app.state.oauth_providers = providers
        app.state.token_verifier = TokenVerifier(
            LocalJWKSCache(db, keys), issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )
        yield

    return create_service_app(
        settings,
        title="AINTECH authenticator",
        description=DESCRIPTION,
        routers=[
            accounts_router,
            signin_router,
            sessions_router,
            twofactor_router,
            oauth_router,
            tokens_router,
            admin_router,
        ],
        lifespan_hooks=[runtime_hook],
    )
