"""Process-wide collaborators built once in the lifespan and reached through dependencies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from aintech_shared.events.outbox import Outbox
from authenticator.core.crypto import Sealer
from authenticator.core.passwords import PasswordHasher
from authenticator.settings import Settings
from authenticator.tokens.keys import KeyStore

if TYPE_CHECKING:
    from authenticator.oauth.providers import ProviderRegistry


@dataclass
class Runtime:
    settings: Settings
    hasher: PasswordHasher
    sealer: Sealer
    keys: KeyStore
    outbox: Outbox
    providers: ProviderRegistry


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
