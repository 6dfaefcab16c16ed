"""Process-wide collaborators built once in the lifespan (by app.py) and reached through a dependency.

Core names what it needs as protocols; the domains provide the implementations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.events.outbox import Outbox
from authenticator.core.crypto import Sealer
from authenticator.core.passwords import PasswordHasher
from authenticator.settings import Settings


class SigningKeys(Protocol):
    """The token-signing key store (implemented by ``tokens.keys.KeyStore``)."""

    async def sign(self, session: AsyncSession, claims: dict[str, Any]) -> str: ...

    async def jwks(self, session: AsyncSession) -> dict[str, Any]: ...

    async def rotate(self, session: AsyncSession) -> tuple[str, str | None]: ...


@dataclass
class Runtime:
    settings: Settings
    hasher: PasswordHasher
    sealer: Sealer
    keys: SigningKeys
    outbox: Outbox


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
