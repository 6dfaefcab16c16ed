"""The one place the authenticator's runtime is built: settings, password hasher, sealer, signing
keys and the outbox (``build_runtime``, called by the API's lifespan, the worker and the seed).

The runtime's fields are typed by protocols: the signing-key store is the tokens domain's
(``tokens.keys.build_key_store``) and is handed in, since core imports no domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.events.outbox import Outbox
from authenticator.core.base import MESSAGING
from authenticator.core.crypto import Sealer
from authenticator.core.passwords import PasswordHasher
from authenticator.settings import Settings


class SigningKeys(Protocol):
    """The token-signing key store (implemented by ``tokens.keys.KeyStore``)."""

    async def sign(self, session: AsyncSession, claims: dict[str, Any]) -> str: ...

    async def jwks(self, session: AsyncSession) -> dict[str, Any]: ...

    async def rotate(self, session: AsyncSession) -> tuple[str, str | None]: ...

    async def rotate_if_older_than(self, session: AsyncSession, max_age: timedelta) -> str | None: ...


@dataclass
class Runtime:
    settings: Settings
    hasher: PasswordHasher
    sealer: Sealer
    keys: SigningKeys
    outbox: Outbox


def build_runtime(settings: Settings, *, keys: SigningKeys) -> Runtime:
    """The collaborators every request needs, built from settings, signing with ``keys``."""
    return Runtime(
        settings=settings,
        hasher=PasswordHasher(
            memory_kib=settings.password_hash_memory_kib,
            time_cost=settings.password_hash_time_cost,
            parallelism=settings.password_hash_parallelism,
        ),
        sealer=Sealer(settings.key_encryption_bytes()),
        keys=keys,
        outbox=Outbox(MESSAGING, source="authenticator"),
    )


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
