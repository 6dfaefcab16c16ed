"""Ingest through the real Kafka: events published as the services publish them reach the figures,
offsets are committed only after the insert, a replay from offset 0 changes nothing, a message
that is not a CloudEvent is dead-lettered, and the lag is on /metrics."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import FastAPI

from aintech_contracts.events import dead_letter_topic
from aintech_contracts.events.crm import POLICY_TOPIC
from aintech_devtools.api import eventually
from analytics.ingest.backfill import backfill
from analytics.ingest.consumer import Ingester
from analytics.ingest.facts import ingested_topics
from analytics.ingest.writer import INGESTED
from analytics.store.port import Store

from .conftest import Api
from .history import History, at

TODAY = date.today()


async def publish_event_raw(
    bootstrap: str, value: bytes, *, topic: str, key: str, headers: bool = True
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        hdrs = [("content-type", b"application/cloudevents+json; charset=UTF-8")] if headers else []
        await producer.send_and_wait(topic, value, key=key.encode(), headers=hdrs)
    finally:
        await producer.stop()


def _a_carrier_of_its_own() -> tuple[History, str]:
    """A customer, a policy started 10 days ago and a claim, with a carrier no other test uses."""
    carrier = f"Carrier-{uuid.uuid4().hex[:8]}"
    h = History()
    customer = h.customer(province="Valencia", when=at(TODAY - timedelta(days=30)))
    policy = h.policy(customer, start=TODAY - timedelta(days=10), premium="500.00", carrier=carrier)
    h.claim(customer, policy, on=TODAY - timedelta(days=2), claimed="120.00")
    return h, carrier


async def _figures(api: Api, carrier: str) -> dict[str, object]:
    start, end = TODAY - timedelta(days=29), TODAY
    response = await api.client.get(f"/kpis?start={start}&end={end}&carrier={carrier}", headers=api.auth())
    if response.status_code != 200:
        return {}
    kpis = response.json()["groups"][0]["kpis"]
    return {name: kpi["value"] for name, kpi in kpis.items()}


async def test_published_events_reach_the_kpis(api: Api, kafka_bootstrap: str) -> None:
    h, carrier = _a_carrier_of_its_own()
    for event, topic in h.events:
        await publish_event_raw(kafka_bootstrap, event.to_bytes(), topic=topic, key=event.subject or "")

    async def claim_counted() -> dict[str, object] | None:
        got = await _figures(api, carrier)
        return got if got.get("claims") == 1 else None

    got = await eventually(claim_counted, within=60, what="the claim reached the KPIs")
    assert got is not None
    assert got["written_premium"] == "500.00"
    assert got["policies_in_force"] == 1
    assert Decimal(str(got["incurred"])) == Decimal("120.00")


async def test_a_replay_from_offset_zero_changes_no_figure(
    app: FastAPI, api: Api, kafka_bootstrap: str
) -> None:
    h, carrier = _a_carrier_of_its_own()
    for event, topic in h.events:
        await publish_event_raw(kafka_bootstrap, event.to_bytes(), topic=topic, key=event.subject or "")

    async def ingested() -> dict[str, object] | None:
        got = await _figures(api, carrier)
        return got if got.get("claims") == 1 else None

    before = await eventually(ingested, within=60, what="the history was ingested")
    store: Store = app.state.runtime.store
    result = await backfill(store, bootstrap=kafka_bootstrap, topics=ingested_topics())
    assert result.read >= len(h.events)
    assert result.new == 0, "the backfill re-inserted events the live ingest had stored"
    # publishing the same events again (a producer retry, a replayed topic) changes nothing either
    for event, topic in h.events:
        await publish_event_raw(kafka_bootstrap, event.to_bytes(), topic=topic, key=event.subject or "")
    marker, marker_carrier = _a_carrier_of_its_own()
    for event, topic in marker.events:  # once these are in, the duplicates before them were read
        await publish_event_raw(kafka_bootstrap, event.to_bytes(), topic=topic, key=event.subject or "")

    async def marker_in() -> bool:
        return (await _figures(api, marker_carrier)).get("claims") == 1

    await eventually(marker_in, within=60, what="the marker history was ingested")
    assert await _figures(api, carrier) == before
    ids = [event.id for event, _ in h.events]
    rows = await store.query(
        "SELECT count() AS n FROM $db.raw_events FINAL WHERE has({ids:Array(String)}, event_id)",
        {"ids": "[" + ",".join(f"'{i}'" for i in ids) + "]"},
    )
    assert rows[0]["n"] == len(ids)


async def test_a_message_that_is_not_a_cloud_event_is_dead_lettered(api: Api, kafka_bootstrap: str) -> None:
    key = f"poison-{uuid.uuid4().hex}"
    await publish_event_raw(kafka_bootstrap, b"not json", topic=POLICY_TOPIC, key=key, headers=False)
    found = await find_event_raw(kafka_bootstrap, dead_letter_topic(POLICY_TOPIC), key)
    assert found, "the malformed message never reached the dead-letter topic"


async def find_event_raw(bootstrap: str, topic: str, key: str) -> bool:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"test-{uuid.uuid4().hex}", auto_offset_reset="earliest"
    )
    await consumer.start()
    try:

        async def seen() -> bool:
            batch = await consumer.getmany(timeout_ms=250)
            return any(r.key == key.encode() for records in batch.values() for r in records)

        return await eventually(seen, within=60, what="the dead letter")
    finally:
        await consumer.stop()


async def test_consumer_lag_is_on_metrics(app: FastAPI, api: Api, kafka_bootstrap: str) -> None:
    h, carrier = _a_carrier_of_its_own()
    for event, topic in h.events:
        await publish_event_raw(kafka_bootstrap, event.to_bytes(), topic=topic, key=event.subject or "")

    async def ingested() -> bool:
        return (await _figures(api, carrier)).get("claims") == 1

    await eventually(ingested, within=60, what="ingested")
    text = (await api.client.get("/metrics")).text
    lines = [
        line for line in text.splitlines() if line.startswith('analytics_ingest_lag{topic="crm.policy"}')
    ]
    assert lines, "no lag gauge for crm.policy"
    assert 'analytics_events_ingested_total{outcome="new"}' in text


async def test_a_second_ingester_of_the_group_resumes_after_the_committed_offsets(
    store: Store, kafka_bootstrap: str
) -> None:
    """The ingester commits what it stored: with a group of its own it ingests a history into a
    scratch database; a second ingester of the same group then reads only what came after (no
    event the first one stored comes back as a duplicate)."""
    import asyncio

    h, carrier = _a_carrier_of_its_own()
    for event, topic in h.events:
        await publish_event_raw(kafka_bootstrap, event.to_bytes(), topic=topic, key=event.subject or "")
    group = f"analytics.ingest.test-{uuid.uuid4().hex[:8]}"
    stop = asyncio.Event()
    ingester = Ingester(
        store, bootstrap=kafka_bootstrap, topics=ingested_topics(), group=group, flush_seconds=0.1
    )
    task = asyncio.create_task(ingester.run(stop))

    async def stored() -> bool:
        rows = await store.query(
            "SELECT count() AS n FROM $db.policy_terms FINAL WHERE carrier = {c:String}", {"c": carrier}
        )
        return rows[0]["n"] == 1

    await eventually(stored, within=60, what="the policy stored")
    stop.set()
    await task
    assert ingester.committed, "no offset committed"
    duplicates_before = INGESTED.labels("duplicate")._value.get()
    again = Ingester(
        store, bootstrap=kafka_bootstrap, topics=ingested_topics(), group=group, flush_seconds=0.1
    )
    stop2 = asyncio.Event()
    task2 = asyncio.create_task(again.run(stop2))
    marker, marker_carrier = _a_carrier_of_its_own()
    for event, topic in marker.events:
        await publish_event_raw(kafka_bootstrap, event.to_bytes(), topic=topic, key=event.subject or "")

    async def marker_stored() -> bool:
        rows = await store.query(
            "SELECT count() AS n FROM $db.policy_terms FINAL WHERE carrier = {c:String}",
            {"c": marker_carrier},
        )
        return rows[0]["n"] == 1

    await eventually(marker_stored, within=60, what="the marker stored")
    stop2.set()
    await task2
    assert INGESTED.labels("duplicate")._value.get() == duplicates_before, (
        "the second ingester of the group re-read events whose offsets the first had committed"
    )
