"""The ingest loop: every domain topic, batched inserts, offsets committed after the insert.

A batch is inserted when it holds ``batch_rows`` events, when its first event waited
``flush_seconds``, or when a poll finds nothing more (the topics are quiet), whichever comes
first (a backlog fills batches of 20,000; a trickle is stored within the second, a lone event at
once); only then are the partitions' offsets committed, so a crash redelivers what was not stored
(and :func:`write_events` skips what was). The store being unreachable is waited out with backoff
(nothing committed); a message that is not a CloudEvent goes to its dead-letter topic. Lag per
topic (high-water mark minus committed offset) is the ``analytics_ingest_lag`` gauge on
``/metrics``.

Idle, it waits as the chassis' consumers do (decision 0082): once nothing has arrived for
``idle_after`` seconds, the broker may hold an empty fetch ``idle_fetch_wait`` seconds and the
loop's own poll waits as long (or until ``stop``), and the group's heartbeat is every 5 s; a
record arriving ends both waits at once, and the fetch after it is held at most
``fetch_max_wait`` again, so a stream is batched as before.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import Gauge

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import dead_letter_topic
from aintech_shared.aio import sleep_or_stop
from aintech_shared.events.consumer import MalformedMessage, parse_message, poll_or_stop, set_fetch_wait
from aintech_shared.events.outbox import new_producer
from aintech_shared.health import LoopHealth
from analytics.ingest.writer import write_events
from analytics.store.port import Store

log = structlog.get_logger("analytics.ingest")

LAG = Gauge("analytics_ingest_lag", "Events on Kafka not yet in the analytics store", ["topic"])

Listener = Callable[[Sequence[CloudEvent]], Awaitable[None]]


class Ingester:
    """Consumes ``topics`` as ``group`` into ``store``."""

    def __init__(
        self,
        store: Store,
        *,
        bootstrap: str,
        topics: Sequence[str],
        group: str,
        batch_rows: int = 20_000,
        flush_seconds: float = 1.0,
        listeners: Sequence[Listener] = (),
        fetch_max_wait: float = 0.5,
        idle_fetch_wait: float = 5.0,
        idle_after: float = 2.0,
    ) -> None:
        self.store = store
        self.bootstrap = bootstrap
        self.topics = list(topics)
        self.group = group
        self.batch_rows = batch_rows
        self.flush_seconds = flush_seconds
        self.listeners = list(listeners)
        self.fetch_max_wait = fetch_max_wait
        self.idle_fetch_wait = idle_fetch_wait
        self.idle_after = idle_after
        self.idle = False
        self.health = LoopHealth(f"ingest:{group}")
        self.committed: dict[TopicPartition, int] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop``; reconnect after a Kafka failure with capped backoff."""
        delay = 0.5
        while not stop.is_set():
            try:
                await self._session(stop)
                delay = 0.5
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.health.failed(repr(exc)[:300], "reconnecting")
                log.warning("ingest_session_failed", error=repr(exc)[:300], retry_in=delay)
                await sleep_or_stop(stop, delay)
                delay = min(delay * 2, 10.0)

    async def _session(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self.bootstrap,
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id=f"aintech-{self.group}",
            max_partition_fetch_bytes=4 * 1024 * 1024,
            session_timeout_ms=20_000,
            heartbeat_interval_ms=5_000,
            fetch_max_wait_ms=int(self.fetch_max_wait * 1000),
            # longer than a held idle fetch (else aiokafka gives up on it)
            request_timeout_ms=int(max(40.0, self.idle_fetch_wait + 30.0) * 1000),
        )
        producer = new_producer(self.bootstrap, client_id=f"aintech-{self.group}-dlq")
        await consumer.start()
        await producer.start()
        try:
            buffer: list[tuple[CloudEvent, str]] = []
            offsets: dict[TopicPartition, int] = {}
            first_at: float | None = None
            last_records = time.monotonic()
            self.idle = False
            while not stop.is_set():
                if buffer:
                    batch = await consumer.getmany(timeout_ms=100, max_records=self.batch_rows)
                elif self.idle:
                    batch = await self._poll_idle(consumer, stop)
                else:  # nothing buffered: up to a second, records end the wait at once
                    batch = await consumer.getmany(timeout_ms=1000, max_records=self.batch_rows)
                if batch:
                    last_records = time.monotonic()
                self.idle = not buffer and not batch and time.monotonic() - last_records >= self.idle_after
                self._set_fetch_wait(consumer)
                for tp, records in batch.items():
                    for record in records:
                        try:
                            buffer.append((parse_message(record), record.topic))
                        except MalformedMessage as exc:
                            await self._dead_letter(producer, record, str(exc))
                        offsets[tp] = record.offset + 1
                    if first_at is None and records:
                        first_at = time.monotonic()
                # due: the oldest buffered event waited flush_seconds, or the topics went quiet
                # (an empty poll) - a lone event is stored at once, a stream in full batches
                due = first_at is not None and (
                    not batch or time.monotonic() - first_at >= self.flush_seconds
                )
                if offsets and (len(buffer) >= self.batch_rows or due):
                    await self._store(buffer, stop)
                    await consumer.commit(dict(offsets))
                    self.committed.update(offsets)
                    events = [event for event, _ in buffer]
                    buffer, offsets, first_at = [], {}, None
                    for listener in self.listeners:
                        try:
                            await listener(events)
                        except Exception as exc:  # a live view's failure never stops ingest
                            log.warning("ingest_listener_failed", error=repr(exc)[:300])
                self._measure_lag(consumer)
                self.health.progress()
        finally:
            await asyncio.gather(consumer.stop(), producer.stop(), return_exceptions=True)

    async def _poll_idle(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> Any:
        """Records as soon as they come, else nothing after the idle wait (bounded by a quarter
        of the stall time, so health sees the loop turn) or once ``stop`` is set."""
        timeout = min(self.idle_fetch_wait, self.health.stall_seconds / 4)
        return await poll_or_stop(consumer, stop, timeout, self.batch_rows)

    def _set_fetch_wait(self, consumer: AIOKafkaConsumer) -> None:
        set_fetch_wait(consumer, self.idle_fetch_wait if self.idle else self.fetch_max_wait)

    async def _store(self, buffer: list[tuple[CloudEvent, str]], stop: asyncio.Event) -> None:
        """Insert ``buffer``, waiting out an unreachable store (nothing is committed meanwhile)."""
        delay = 0.2
        while True:
            try:
                await write_events(self.store, buffer)
                return
            except Exception as exc:
                if stop.is_set():
                    raise
                self.health.failed(repr(exc)[:300], "waiting for the store")
                log.warning("ingest_store_failed", error=repr(exc)[:300], retry_in=delay)
                await sleep_or_stop(stop, delay)
                delay = min(delay * 2, 10.0)

    def _measure_lag(self, consumer: AIOKafkaConsumer) -> None:
        lag: dict[str, int] = {}
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                continue
            done = self.committed.get(tp, 0)
            lag[tp.topic] = lag.get(tp.topic, 0) + max(0, high - done)
        for topic, value in lag.items():
            LAG.labels(topic).set(value)

    async def _dead_letter(self, producer: Any, record: Any, error: str) -> None:
        headers = [
            *(record.headers or ()),
            ("dlq_error", error[:2000].encode()),
            ("dlq_consumer", self.group.encode()),
            ("dlq_original_topic", record.topic.encode()),
            ("dlq_original_partition", str(record.partition).encode()),
            ("dlq_original_offset", str(record.offset).encode()),
            ("dlq_attempts", b"1"),
        ]
        await producer.send_and_wait(
            dead_letter_topic(record.topic), value=record.value, key=record.key, headers=headers
        )
        log.error("ingest_dead_lettered", topic=record.topic, offset=record.offset, error=error[:300])
