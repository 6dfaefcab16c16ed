"""Process-wide collaborators built once (settings, outbox) and reached through a dependency."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from aintech_shared.events.outbox import Outbox
from quote_engine.core.base import MESSAGING
from quote_engine.settings import Settings

SOURCE = "quote-engine"


@dataclass
class Runtime:
    settings: Settings
    outbox: Outbox


def build_runtime(settings: Settings) -> Runtime:
    return Runtime(settings=settings, outbox=Outbox(MESSAGING, source=SOURCE))


async def get_runtime(request: Request) -> Runtime:
    """Async: FastAPI runs a plain function dependency in its thread pool, a hop per request."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
