"""At-least-once consumers: de-duplicated in the handler's transaction, dead-lettered on repeat failure."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import dead_letter_topic
from aintech_shared.aio import sleep_or_stop
from aintech_shared.context import correlation_id_var
from aintech_shared.db import Database
from aintech_shared.events.outbox import new_producer
from aintech_shared.events.tables import MessagingTables
from aintech_shared.health import Heartbeat

log = structlog.get_logger("aintech.consumer")

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]

CONSUMED = Counter(
    "events_consumed_total", "Events handled by consumers", ["consumer", "event_type", "outcome"]
)


class PermanentError(Exception):
    """Raised by a handler for a message that can never succeed: it goes straight to the DLQ."""


@dataclass(frozen=True)
class ConsumerSpec:
    """What a service consumes: a group name, its topics and a handler per event type."""

    name: str
    topics: Sequence[str]
    handlers: Mapping[str, Handler]
    max_attempts: int = 5
    backoff_base: float = 0.2
    backoff_max: float = 5.0


class EventConsumer:
    """Runs one ConsumerSpec against Kafka and the service's database."""

    def __init__(
        self,
        spec: ConsumerSpec,
        *,
        db: Database,
        tables: MessagingTables,
        bootstrap: str,
        max_records: int = 200,
    ) -> None:
        self.spec = spec
        self.db = db
        self.tables = tables
        self.bootstrap = bootstrap
        self.max_records = max_records
        self.heartbeat = Heartbeat(f"consumer:{spec.name}")

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; reconnects with backoff when Kafka goes away."""
        backoff = 0.5
        while not stop.is_set():
            try:
                await self._run_session(stop)
                backoff = 0.5
            except (KafkaError, OSError) as exc:
                self.heartbeat.beat(f"reconnecting: {type(exc).__name__}")
                log.warning("consumer_connection_lost", consumer=self.spec.name, error=repr(exc))
                await sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, 10.0)
            except Exception as exc:  # e.g. the database went away: offsets stay uncommitted
                self.heartbeat.beat(f"recovering: {type(exc).__name__}")
                log.exception("consumer_failed", consumer=self.spec.name, error=repr(exc))
                await sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, 10.0)

    async def _run_session(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            *self.spec.topics,
            bootstrap_servers=self.bootstrap,
            group_id=self.spec.name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id=f"aintech-{self.spec.name}",
            session_timeout_ms=20000,
            heartbeat_interval_ms=3000,
            max_poll_interval_ms=300000,
        )
        producer = new_producer(self.bootstrap, client_id=f"aintech-{self.spec.name}-dlq")
        await consumer.start()
        try:
            await producer.start()
            log.info("consumer_started", consumer=self.spec.name, topics=list(self.spec.topics))
            while not stop.is_set():
                self.heartbeat.beat()
                batch = await consumer.getmany(timeout_ms=500, max_records=self.max_records)
                for tp, records in batch.items():
                    await self._process_partition(records, producer)
                    await self._commit(consumer, tp, records[-1].offset + 1)
        finally:
            await consumer.stop()
            await producer.stop()

    async def _commit(self, consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> None:
        try:
            await consumer.commit({tp: offset})
        except CommitFailedError as exc:
            # The partition moved to another member; it will redeliver and de-duplicate.
            log.warning("consumer_commit_failed", consumer=self.spec.name, partition=str(tp), error=str(exc))

    async def _process_partition(self, records: list[ConsumerRecord[Any, Any]], producer: Any) -> None:
        """Handle one partition's records in order.

        The happy path handles the whole batch in one transaction (one commit per batch). If an
        event fails, that transaction rolls back as a whole, and the events up to and including the
        failing one are handled one transaction each through :meth:`_process`, with retries and
        dead-lettering; the rest of the batch then continues. Per-partition order is kept, and a
        rolled-back event runs again, which at-least-once handlers tolerate anyway.
        """
        pending = records
        while pending:
            failed_at: int | None = None
            outcomes: list[tuple[str, str]] = []
            try:
                async with self.db.transaction() as session:
                    for index, record in enumerate(pending):
                        failed_at = index
                        event = CloudEvent.from_bytes(record.value or b"")
                        handler = self.spec.handlers.get(event.type)
                        if handler is None:
                            outcomes.append((event.type, "ignored"))
                            continue
                        token = correlation_id_var.set(event.correlationid or event.id)
                        try:
                            outcomes.append(
                                (event.type, await self._claim_and_handle(session, event, handler))
                            )
                        finally:
                            correlation_id_var.reset(token)
                    failed_at = None
            except Exception as exc:
                if failed_at is None:  # the commit itself failed: let run() reconnect and redeliver
                    raise
                log.info(
                    "batch_fallback", consumer=self.spec.name, failed_at=failed_at, error=repr(exc)[:300]
                )
            if failed_at is None:
                for event_type, outcome in outcomes:
                    CONSUMED.labels(self.spec.name, event_type, outcome).inc()
                return
            for record in pending[: failed_at + 1]:
                await self._process(record, producer)
            pending = pending[failed_at + 1 :]

    async def _process(self, record: ConsumerRecord[Any, Any], producer: Any) -> None:
        try:
            event = CloudEvent.from_bytes(record.value or b"")
        except ValidationError as exc:
            await self._dead_letter(record, producer, f"malformed CloudEvent: {exc.errors()[:3]}", 1)
            return
        handler = self.spec.handlers.get(event.type)
        if handler is None:
            CONSUMED.labels(self.spec.name, event.type, "ignored").inc()
            return
        token = correlation_id_var.set(event.correlationid or event.id)
        try:
            attempt = 0
            while True:
                attempt += 1
                try:
                    outcome = await self._handle_once(event, handler)
                    CONSUMED.labels(self.spec.name, event.type, outcome).inc()
                    return
                except (PermanentError, ValidationError) as exc:
                    await self._dead_letter(record, producer, f"{type(exc).__name__}: {exc}", attempt)
                    return
                except Exception as exc:
                    if attempt >= self.spec.max_attempts:
                        await self._dead_letter(record, producer, f"{type(exc).__name__}: {exc}", attempt)
                        return
                    delay = min(self.spec.backoff_base * 2 ** (attempt - 1), self.spec.backoff_max)
                    log.warning(
                        "handler_failed_retrying",
                        consumer=self.spec.name,
                        event_id=event.id,
                        event_type=event.type,
                        attempt=attempt,
                        retry_in=delay,
                        error=repr(exc),
                    )
                    await asyncio.sleep(delay)
        finally:
            correlation_id_var.reset(token)

    async def _handle_once(self, event: CloudEvent, handler: Handler) -> str:
        async with self.db.transaction() as session:
            return await self._claim_and_handle(session, event, handler)

    async def _claim_and_handle(self, session: AsyncSession, event: CloudEvent, handler: Handler) -> str:
        """Record the event as processed by this consumer and run the handler, in one transaction."""
        processed = self.tables.processed_events
        claimed = await session.execute(
            insert(processed)
            .values(consumer=self.spec.name, event_id=event.id, event_type=event.type)
            .on_conflict_do_nothing()
            .returning(processed.c.event_id)
        )
        if claimed.first() is None:
            return "duplicate"
        await handler(session, event)
        return "handled"

    async def _dead_letter(
        self, record: ConsumerRecord[Any, Any], producer: Any, error: str, attempts: int
    ) -> None:
        topic = dead_letter_topic(record.topic)
        headers = [
            *(record.headers or ()),
            ("dlq_error", error[:2000].encode()),
            ("dlq_consumer", self.spec.name.encode()),
            ("dlq_original_topic", record.topic.encode()),
            ("dlq_original_partition", str(record.partition).encode()),
            ("dlq_original_offset", str(record.offset).encode()),
            ("dlq_attempts", str(attempts).encode()),
        ]
        await (await producer.send(topic, value=record.value, key=record.key, headers=headers))
        CONSUMED.labels(self.spec.name, "unknown", "dead_lettered").inc()
        log.error(
            "event_dead_lettered",
            consumer=self.spec.name,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            dead_letter_topic=topic,
            error=error[:500],
        )
