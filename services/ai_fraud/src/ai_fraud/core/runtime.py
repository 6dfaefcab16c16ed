"""Process-wide collaborators built once and reached through a dependency."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from ai_fraud.core.base import MESSAGING
from ai_fraud.settings import Settings
from aintech_shared.events.outbox import Outbox
from aintech_shared.objectstore import ObjectStore, object_store

SOURCE = "ai-fraud"


@dataclass
class ModelSlot:
    """The loaded active model of this process: (version, predictor), swapped on promote."""

    version: int | None = None
    predictor: Any = None


@dataclass
class Runtime:
    settings: Settings
    outbox: Outbox
    objects: ObjectStore  # the platform's object store: claim photos uploaded through the CRM
    model: ModelSlot = field(default_factory=ModelSlot)
    caches: dict[str, Any] = field(default_factory=dict)  # per-process indexes (photos)


def build_runtime(settings: Settings) -> Runtime:
    return Runtime(
        settings=settings,
        outbox=Outbox(MESSAGING, source=SOURCE),
        objects=object_store(settings.object_store),
    )


async def get_runtime(request: Request) -> Runtime:
    """Async: FastAPI would run a plain function in its thread pool, a thread hop per request."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
