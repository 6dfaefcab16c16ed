"""The one place scraper's runtime is built: settings, the outbox and the clients of outside parties.

The API builds it in its lifespan, the worker in ``worker.py``; requests reach it through
``RuntimeDep``, jobs and consumer handlers receive it as an argument. A client of an outside party
(a provider's SDK, an HTTP API) is built here too, behind a small port with a console adapter used
when no credentials are configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from aintech_shared.events.outbox import Outbox
from aintech_shared.objectstore import ObjectStore, object_store
from scraper.core.base import MESSAGING
from scraper.settings import Settings

SOURCE = "scraper"


@dataclass
class Runtime:
    settings: Settings
    outbox: Outbox
    objects: ObjectStore  # failure artifacts (screenshots, HTML)


def build_runtime(settings: Settings) -> Runtime:
    return Runtime(
        settings=settings,
        outbox=Outbox(MESSAGING, source=SOURCE),
        objects=object_store(settings.object_store),
    )


def get_runtime(conn: HTTPConnection) -> Runtime:
    runtime: Runtime = conn.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
