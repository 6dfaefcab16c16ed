"""The one place analytics's runtime is built: settings, the outbox, the store and the ingester.

The API builds it in its lifespan, the worker in ``worker.py``; requests reach it through
``RuntimeDep``, jobs and consumer handlers receive it as an argument.

The store: chDB allows one process per data directory, so in the embedded mode the analytics
API process owns it: it opens the store and runs the ingest loop beside the HTTP server
(decision 0020). With a ClickHouse server (``ANALYTICS_CLICKHOUSE_URL``) the same loop runs in
every API replica, sharing the consumer group's partitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from aintech_shared.events.outbox import Outbox
from analytics.core.base import MESSAGING
from analytics.settings import Settings
from analytics.store.port import Store, open_store

SOURCE = "analytics"


@dataclass
class Runtime:
    settings: Settings
    outbox: Outbox
    opened_store: Store | None = field(default=None, repr=False)

    @property
    def store(self) -> Store:
        """The analytics store (the API process's; the worker never opens it)."""
        if self.opened_store is None:
            raise RuntimeError("this process does not own the analytics store")
        return self.opened_store


def build_runtime(settings: Settings, *, with_store: bool = True) -> Runtime:
    """The API's runtime opens the store (``with_store``); the worker's does not (chDB allows one
    process per directory, decision 0020)."""
    store = None
    if with_store:
        store = open_store(
            clickhouse_url=settings.clickhouse_url,
            chdb_path=settings.chdb_path,
            database=settings.store_database,
        )
    return Runtime(settings=settings, outbox=Outbox(MESSAGING, source=SOURCE), opened_store=store)


def get_runtime(conn: HTTPConnection) -> Runtime:
    runtime: Runtime = conn.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
