"""Process-wide collaborators built once and reached through a dependency."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from aintech_shared.events.outbox import Outbox
from aintech_shared.objectstore import ObjectStore, object_store
from core_crm.core.base import MESSAGING
from core_crm.settings import Settings

SOURCE = "core-crm"


@dataclass
class Runtime:
    settings: Settings
    outbox: Outbox
    objects: ObjectStore  # claim documents (the platform's object store)


def build_runtime(settings: Settings) -> Runtime:
    return Runtime(
        settings=settings,
        outbox=Outbox(MESSAGING, source=SOURCE),
        objects=object_store(settings.object_store),
    )


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
