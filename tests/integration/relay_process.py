"""Run an outbox relay over one schema in its own process, so a test can SIGKILL it mid-flow."""

from __future__ import annotations

import asyncio
import sys

from aintech_shared.db import Database, schema_metadata
from aintech_shared.events.outbox import OutboxRelay
from aintech_shared.events.tables import messaging_tables


async def main(url: str, schema: str, bootstrap: str) -> None:
    db = Database(url, schema=schema, pool_size=2)
    relay = OutboxRelay(db, messaging_tables(schema_metadata(schema)), bootstrap=bootstrap, batch_size=25)
    await relay.run(asyncio.Event())


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
