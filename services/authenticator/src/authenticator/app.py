"""authenticator HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from aintech_shared.app import create_service_app
from aintech_shared.auth import TokenVerifier
from aintech_shared.db import Database
from aintech_shared.events.outbox import Outbox
from authenticator.accounts.router import router as accounts_router
from authenticator.admin.router import router as admin_router
from authenticator.core.base import MESSAGING
from authenticator.core.crypto import Sealer
from authenticator.core.passwords import PasswordHasher
from authenticator.core.runtime import Runtime
from authenticator.oauth.providers import ProviderRegistry
from authenticator.oauth.router import router as oauth_router
from authenticator.sessions.router import router as sessions_router
from authenticator.settings import Settings
from authenticator.signin.router import router as signin_router
from authenticator.tokens.keys import KeyStore, LocalJWKSCache
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


def build_runtime(settings: Settings) -> tuple[Runtime, KeyStore]:
    """The collaborators every request needs, built from settings (and the key store they sign with)."""
    sealer = Sealer(settings.key_encryption_bytes())
    keys = KeyStore(
        sealer=sealer,
        key_size=settings.signing_key_size,
        access_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        cache_seconds=settings.key_cache_seconds,
    )
    runtime = Runtime(
        settings=settings,
        hasher=PasswordHasher(
            memory_kib=settings.password_hash_memory_kib,
            time_cost=settings.password_hash_time_cost,
            parallelism=settings.password_hash_parallelism,
        ),
        sealer=sealer,
        keys=keys,
        outbox=Outbox(MESSAGING, source="authenticator"),
    )
    return runtime, keys


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the authenticator application."""
    settings = settings or Settings()

    @asynccontextmanager
    async def runtime_hook(app: FastAPI) -> AsyncIterator[None]:
        runtime, keys = build_runtime(settings)
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
