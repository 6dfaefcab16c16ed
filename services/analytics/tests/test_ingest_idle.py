"""The idle ingester waits as the chassis' consumers do (decision 0082): an event published while
it waits with an hour-long idle fetch is stored at once, and ``stop`` ends that wait at once."""

from __future__ import annotations

import asyncio
import uuid

from aintech_devtools.api import eventually
from analytics.ingest.consumer import Ingester
from analytics.ingest.facts import ingested_topics
from analytics.store.port import Store

from .test_ingest import _a_carrier_of_its_own, publish_event_raw

HOUR = 3600.0


def _idle_ingester(store: Store, bootstrap: str) -> Ingester:
    ingester = Ingester(
        store,
        bootstrap=bootstrap,
        topics=ingested_topics(),
        group=f"analytics.ingest.idle-{uuid.uuid4().hex[:8]}",
        flush_seconds=0.1,
        idle_fetch_wait=HOUR,
        idle_after=0.0,
    )
    ingester.health.stall_seconds = 4 * HOUR  # the idle poll is bounded by a quarter of it
    return ingester


async def test_an_event_published_while_the_ingester_waits_idle_is_stored_at_once(
    store: Store, kafka_bootstrap: str
) -> None:
    """With an hour-long idle wait (broker fetch and the loop's own poll), the policy published
    after the ingester went idle is stored within the test's deadline: the record ends the wait."""
    ingester = _idle_ingester(store, kafka_bootstrap)
    stop = asyncio.Event()
    task = asyncio.create_task(ingester.run(stop))
    try:

        async def idle() -> bool:
            return ingester.idle

        await eventually(idle, within=60, what="the ingester caught up and idle")
        h, carrier = _a_carrier_of_its_own()
        for event, topic in h.events:
            await publish_event_raw(kafka_bootstrap, event.to_bytes(), topic=topic, key=event.subject or "")

        async def stored() -> bool:
            rows = await store.query(
                "SELECT count() AS n FROM $db.policy_terms FINAL WHERE carrier = {c:String}", {"c": carrier}
            )
            return rows[0]["n"] == 1

        await eventually(stored, within=30, what="the policy published while idle stored")
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def test_stop_ends_the_idle_ingesters_hour_long_wait(store: Store, kafka_bootstrap: str) -> None:
    """Told to stop while idle with an hour-long poll, the ingester returns within the deadline."""
    ingester = _idle_ingester(store, kafka_bootstrap)
    stop = asyncio.Event()
    task = asyncio.create_task(ingester.run(stop))

    async def idle() -> bool:
        return ingester.idle

    try:
        await eventually(idle, within=60, what="the ingester caught up and idle")
    finally:
        stop.set()
    await asyncio.wait_for(task, timeout=30)
    assert task.done() and task.exception() is None
