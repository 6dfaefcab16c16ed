"""omnichannel worker (python -m omnichannel.worker): assembles the runtime, the consumers, the jobs and
the message dispatcher (with the providers it sends through) and the Slack poster of staff alerts."""

from __future__ import annotations

import asyncio

from aintech_shared.db import Database
from aintech_shared.worker import run_worker
from omnichannel.agents import service as agents
from omnichannel.consumers import consumer_specs
from omnichannel.core.base import MESSAGING
from omnichannel.core.runtime import build_runtime
from omnichannel.delivery.dispatcher import Dispatcher
from omnichannel.jobs import jobs
from omnichannel.notifications.slack import SlackPoster
from omnichannel.providers.factory import build_providers
from omnichannel.settings import Settings


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """The chassis worker with the dispatcher as one of its loops until SIGTERM/SIGINT (or ``stop``)."""
    stop = stop or asyncio.Event()
    rt = build_runtime(settings)
    agents.configure_routing(settings)
    db = Database(settings.service_database_url, schema=settings.db_schema, pool_size=4)
    providers = build_providers(settings, db)
    dispatcher = Dispatcher(db, settings, providers)
    slack = SlackPoster(db, settings)
    try:
        await run_worker(
            settings,
            MESSAGING,
            consumers=consumer_specs(rt),
            jobs=jobs(rt),
            loops=[dispatcher, slack],
            stop=stop,
        )
    finally:
        stop.set()
        await slack.close()
        await providers.close()
        await db.dispose()


def main() -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(run(Settings()))


if __name__ == "__main__":
    main()
