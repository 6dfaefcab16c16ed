"""Run core-crm's worker with one extra consumer whose handler always fails, in its own process.

``python worker_process.py <topic> <event type>``: the handler refuses every event with an error
that is the handler's own (the database answers), so the consumer keeps retrying it with backoff
— a failing batch a test can SIGTERM in the middle of.
"""

from __future__ import annotations

import sys

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_shared import worker
from aintech_shared.events.consumer import ConsumerSpec
from core_crm.models import MESSAGING
from core_crm.settings import Settings


async def always_fails(session: AsyncSession, event: CloudEvent) -> None:
    raise RuntimeError("premium schedule service keeps refusing")


def main(topic: str, event_type: str) -> None:
    spec = ConsumerSpec(
        name=f"failing-{topic}",
        topics=[topic],
        handlers={event_type: always_fails},
        max_attempts=20,
        backoff_base=1.0,
        backoff_max=5.0,
    )
    worker.main(Settings(), MESSAGING, consumers=[spec])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
