"""At-least-once consumers: de-duplicated in the handler's transaction; outages waited out, poison
dead-lettered.

- A fetch is handled in one transaction (its partitions one after the other, each in order), then
  its offsets committed in one round trip; if an event fails, the fetch falls back to one
  transaction per event up to it, each retried with the shared backoff.
- A handler may take a batch (``ConsumerSpec.batch_handlers``): each run of consecutive claimed
  events of its type is given to it at once, in partition order, in the same transaction as the
  batch's processed-event claim, so it can write them in one statement. On failure the run falls
  back, like any handler, to one event per transaction (the batch handler given a list of one).
- A handler's own failure (``PermanentError``, a payload that fails validation, an exception that
  keeps happening while the database answers) sends the message to ``<topic>.dlq`` with its
  error, and the partition moves on.
- An outage (the database or Kafka unreachable — see :mod:`aintech_shared.events.faults`, and a
  failed ping before any dead-lettering) is never the message's fault: nothing is committed and
  nothing dead-lettered; the consumer keeps the records it fetched, waits with capped jittered
  backoff, probes the database, and resumes at the first unhandled record.
- A message that is not a structured-mode CloudEvent (content-type header, JSON envelope) is
  dead-lettered as malformed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import orjson
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy import Text, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert
from tenacity import RetryCallState, retry_if_exception, retry_if_exception_type

from aintech_contracts.envelope import CONTENT_TYPE_HEADER, CloudEvent, is_structured_content_type
from aintech_contracts.events import dead_letter_topic
from aintech_shared import tracing
from aintech_shared.aio import Stopped, retrying, sleep_or_stop
from aintech_shared.context import correlation_id_var
from aintech_shared.db import Database
from aintech_shared.events.faults import describe, is_outage
from aintech_shared.events.outbox import new_producer
from aintech_shared.events.tables import MessagingTables
from aintech_shared.health import DEFAULT_MAX_FAILURES, DEFAULT_STALL_SECONDS, LoopHealth
from aintech_shared.metrics import CONSUMER_LAG, CONSUMER_RECORDS, DEAD_LETTERED, bounded_event_type

log = structlog.get_logger("aintech.consumer")

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]
BatchHandler = Callable[[AsyncSession, Sequence[CloudEvent]], Awaitable[None]]
Record: TypeAlias = "ConsumerRecord[Any, Any]"

CONSUMED = Counter(
    "events_consumed_total", "Events handled by consumers", ["consumer", "event_type", "outcome"]
)
REBALANCES = Counter(
    "consumer_rebalances_total", "Partition assignments a consumer received (1 at start)", ["consumer"]
)
PING_TIMEOUT = 5.0


class PermanentError(Exception):
    """Raised by a handler for a message that can never succeed: it goes straight to the DLQ."""


class MalformedMessage(ValueError):
    """The message is not a structured-mode CloudEvent."""


class _Outage(Exception):
    """The database or Kafka is unreachable; the record at ``offset`` and after were not handled."""

    def __init__(self, offset: int, cause: BaseException) -> None:
        super().__init__(describe(cause))
        self.offset = offset
        self.cause = cause
        self.done = 0  # records of the list being handled that were committed before it


class _Reconnect(Exception):
    """The Kafka session failed after making progress: reconnect with a fresh backoff."""


@dataclass(frozen=True)
class ConsumerSpec:
    """What a service consumes: a group name, its topics and a handler per event type.

    ``batch_handlers`` are handlers that take a list of events of their type (in partition order,
    each claimed as processed in the same transaction, none seen before by this consumer): the
    consumer hands them consecutive events of their type at once, so that they can write them in
    one statement. An event type has either a handler or a batch handler.

    ``max_attempts`` bounds a handler's retries while the database answers (then the DLQ);
    ``backoff_base``/``backoff_max`` shape those retries; ``outage_backoff_max`` caps the wait
    between probes while the database or Kafka is unreachable (retried without limit).
    ``max_poll_interval`` is Kafka's limit between two polls before the group drops the member;
    during an outage the consumer keeps polling with its partitions paused, so a long outage does
    not cost a rebalance. ``fetch_max_wait`` is how long the broker holds a fetch that found
    nothing: a partition whose records were still being handled when that fetch left is fetched
    again only after it returns, so this bounds the delay an event can wait in Kafka (aiokafka's
    default, 0.5 s, put the commit-to-effect p50 near 400 ms under load; 0.1 s keeps an idle
    consumer at ten empty fetches a second). ``session_timeout`` is how long the group waits for a
    member's heartbeat (sent every quarter of it, at most every 5 s) before it drops the member and
    rebalances: it bounds how soon a crashed replica's partitions move on, and a process whose
    event loop is starved for longer (a test run on a loaded machine) loses its partitions.
    ``idle_fetch_max_wait`` replaces ``fetch_max_wait`` once nothing has arrived for
    ``idle_after`` seconds, until records arrive again, and the consumer's own poll waits as long
    (or until ``stop``): an idle consumer makes one empty fetch and one turn of its loop every
    5 s instead of ten fetches and two turns a second. It adds no latency: a record arriving ends
    the broker's wait at once, and the fetch after it is built with ``fetch_max_wait`` again
    (the consumer switches back as the poll returns the record, before aiokafka sends the next).
    """

    name: str
    topics: Sequence[str]
    handlers: Mapping[str, Handler]
    max_attempts: int = 5
    backoff_base: float = 0.2
    backoff_max: float = 5.0
    outage_backoff_max: float = 10.0
    max_poll_interval: float = 300.0
    fetch_max_wait: float = 0.1
    session_timeout: float = 20.0
    idle_fetch_max_wait: float = 5.0
    idle_after: float = 2.0
    batch_handlers: Mapping[str, BatchHandler] = field(default_factory=dict)

    def __post_init__(self) -> None:
        both = set(self.handlers) & set(self.batch_handlers)
        if both:
            raise ValueError(f"event types with both a handler and a batch handler: {sorted(both)}")

    def handles(self, event_type: str) -> bool:
        return event_type in self.handlers or event_type in self.batch_handlers


class _CountAssignments(ConsumerRebalanceListener):
    """Counts the partition assignments a consumer receives (a rebalance metric)."""

    def __init__(self, consumer: str) -> None:
        self.consumer = consumer

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        REBALANCES.labels(self.consumer).inc()


def parse_message(record: Record) -> CloudEvent:
    """The CloudEvent of a structured-mode Kafka message, or :class:`MalformedMessage`."""
    content_type = None
    for name, value in record.headers or ():
        if name.lower() == CONTENT_TYPE_HEADER:
            content_type = value
    if not is_structured_content_type(content_type):
        shown = content_type.decode("latin-1")[:100] if content_type else "missing"
        raise MalformedMessage(f"not a structured-mode CloudEvent: content-type {shown}")
    try:
        return CloudEvent.from_bytes(record.value or b"")
    except ValidationError as exc:
        raise MalformedMessage(f"malformed CloudEvent: {exc.errors()[:3]}") from exc


def event_type_of(value: bytes | None) -> str:
    """The ``type`` attribute of a message value, or "malformed" (for metrics and the DLQ)."""
    try:
        parsed = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return "malformed"
    kind = parsed.get("type") if isinstance(parsed, dict) else None
    return kind[:200] if isinstance(kind, str) and kind else "malformed"


def _next_offsets(records: Sequence[Record]) -> dict[TopicPartition, int]:
    """The offset to commit for each partition of ``records`` (in order): after its last one."""
    return {TopicPartition(record.topic, record.partition): record.offset + 1 for record in records}


class EventConsumer:
    """Runs one ConsumerSpec against Kafka and the service's database."""

    def __init__(
        self,
        spec: ConsumerSpec,
        *,
        db: Database,
        tables: MessagingTables,
        bootstrap: str,
        max_records: int = 500,
        max_failures: int = DEFAULT_MAX_FAILURES,
        stall_seconds: float = DEFAULT_STALL_SECONDS,
    ) -> None:
        self.spec = spec
        self.db = db
        self.tables = tables
        self.bootstrap = bootstrap
        self.max_records = max_records
        self._claim_statement: ReturningInsert[tuple[str]] | None = None
        self._handled_types = frozenset(spec.handlers) | frozenset(spec.batch_handlers)
        self.idle = False  # no record for ``spec.idle_after``: polling with the idle fetch wait
        self.health = LoopHealth(
            f"consumer:{spec.name}", max_failures=max_failures, stall_seconds=stall_seconds
        )

    # --- the Kafka session ------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; reconnects with jittered backoff when Kafka goes away."""

        def on_retry(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            error = describe(exc) if exc else "unknown"
            self.health.failed(error, "reconnecting")
            log.warning("consumer_connection_lost", consumer=self.spec.name, error=error)

        while not stop.is_set():
            try:
                async for attempt in retrying(
                    stop,
                    initial=0.5,
                    maximum=self.spec.outage_backoff_max,
                    retry=retry_if_exception(lambda e: not isinstance(e, (_Reconnect, Stopped))),
                    on_retry=on_retry,
                ):
                    with attempt:
                        await self._run_session(stop)
            except Stopped:
                break
            except _Reconnect as exc:
                self.health.failed(str(exc), "reconnecting")
                log.warning("consumer_connection_lost", consumer=self.spec.name, error=str(exc))
            except Exception:
                if stop.is_set():
                    break
                raise

    async def _run_session(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.spec.name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id=f"aintech-{self.spec.name}",
            session_timeout_ms=int(self.spec.session_timeout * 1000),
            heartbeat_interval_ms=int(min(5.0, self.spec.session_timeout / 4) * 1000),
            max_poll_interval_ms=int(self.spec.max_poll_interval * 1000),
            fetch_max_wait_ms=int(self.spec.fetch_max_wait * 1000),
            # aiokafka's default (40 s), or longer than a held fetch (else it gives up on it).
            request_timeout_ms=int(max(40.0, self.spec.idle_fetch_max_wait + 30.0) * 1000),
        )
        consumer.subscribe(list(self.spec.topics), listener=_CountAssignments(self.spec.name))
        producer = new_producer(self.bootstrap, client_id=f"aintech-{self.spec.name}-dlq")
        progressed = False
        try:
            await consumer.start()
            await producer.start()
            log.info("consumer_started", consumer=self.spec.name, topics=list(self.spec.topics))
            loop = asyncio.get_running_loop()
            last_records = loop.time()
            idle = self.idle = False
            while not stop.is_set():
                if idle:
                    batch = await self._poll_idle(consumer, stop)
                else:
                    batch = await consumer.getmany(timeout_ms=500, max_records=self.max_records)
                if batch:
                    last_records = loop.time()
                idle = self.idle = loop.time() - last_records >= self.spec.idle_after
                self._set_fetch_wait(consumer, idle=idle)
                self._report_lag(consumer, batch)
                if batch:
                    count = sum(len(records) for records in batch.values())
                    self.health.waiting(f"handling {count} records")
                    await self._handle_batch(consumer, producer, dict(batch), stop)
                self.health.progress()
                progressed = True
        except Exception as exc:
            if progressed and not isinstance(exc, Stopped):
                raise _Reconnect(describe(exc)) from exc
            raise
        finally:
            await asyncio.gather(consumer.stop(), producer.stop(), return_exceptions=True)

    async def _poll_idle(
        self, consumer: AIOKafkaConsumer, stop: asyncio.Event
    ) -> Mapping[TopicPartition, list[Record]]:
        """An idle consumer's poll: records as soon as they come, else after the idle fetch wait
        (bounded by a quarter of the stall time, so health sees the loop turn), or nothing once
        ``stop`` is set."""
        timeout = min(self.spec.idle_fetch_max_wait, self.health.stall_seconds / 4)
        return await poll_or_stop(consumer, stop, timeout, self.max_records)

    def _set_fetch_wait(self, consumer: AIOKafkaConsumer, *, idle: bool) -> None:
        set_fetch_wait(consumer, self.spec.idle_fetch_max_wait if idle else self.spec.fetch_max_wait)

    def _count_records(self, records: Sequence[Record]) -> None:
        for record in records:
            CONSUMER_RECORDS.labels(self.spec.name, record.topic).inc()

    def _count(self, event_type: str, outcome: str) -> None:
        CONSUMED.labels(self.spec.name, bounded_event_type(event_type, self._handled_types), outcome).inc()

    def _report_lag(self, consumer: AIOKafkaConsumer, batch: Mapping[TopicPartition, list[Record]]) -> None:
        """Per topic, the messages behind each assigned partition's end once this fetch is handled
        (the fetch's high watermark minus the next offset); a partition with nothing fetched is
        caught up."""
        lag: dict[str, int] = {}
        for tp in consumer.assignment():
            records = batch.get(tp)
            highwater = consumer.highwater(tp) if records else None
            behind = max(0, highwater - (records[-1].offset + 1)) if records and highwater is not None else 0
            lag[tp.topic] = lag.get(tp.topic, 0) + behind
        for topic, behind in lag.items():
            CONSUMER_LAG.labels(self.spec.name, topic).set(behind)

    async def _handle_batch(
        self,
        consumer: AIOKafkaConsumer,
        producer: Any,
        pending: dict[TopicPartition, list[Record]],
        stop: asyncio.Event,
    ) -> None:
        """Handle and commit each partition's records; wait out an outage and resume where it hit."""

        def on_outage(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            error = describe(exc.cause if isinstance(exc, _Outage) else exc) if exc else "unknown"
            self.health.failed(error, "waiting for the database")
            log.warning(
                "consumer_outage",
                consumer=self.spec.name,
                error=error,
                attempt=state.attempt_number,
                retry_in=round(state.next_action.sleep, 2) if state.next_action else None,
            )

        async def poll_paused(seconds: float) -> None:
            """Wait ``seconds`` between probes while polling Kafka with every partition paused:
            the group sees a live member (no rebalance however long the outage), nothing is
            fetched, and the records already in hand stay where they are."""
            loop = asyncio.get_running_loop()
            deadline = loop.time() + seconds
            consumer.pause(*consumer.assignment())
            try:
                while not stop.is_set() and (left := deadline - loop.time()) > 0:
                    polled = await consumer.getmany(timeout_ms=max(1, int(min(left, 1.0) * 1000)))
                    for tp, records in polled.items():  # assigned meanwhile, so not paused yet:
                        if records:  # hand the records back to Kafka, to be fetched after the outage
                            consumer.seek(tp, records[0].offset)
                    consumer.pause(*consumer.assignment())
            except KafkaError as exc:  # Kafka is away too: wait without it
                log.warning("consumer_outage_poll_failed", consumer=self.spec.name, error=describe(exc))
                await sleep_or_stop(stop, max(0.0, deadline - loop.time()))
            finally:
                consumer.resume(*consumer.paused())

        async for attempt in retrying(
            stop,
            initial=self.spec.backoff_base,
            maximum=self.spec.outage_backoff_max,
            retry=retry_if_exception_type(_Outage),
            on_retry=on_outage,
            wait=poll_paused,
        ):
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    await self._probe_database()
                # The fetch's partitions one after the other, in one transaction when all goes
                # well; offsets committed once (one round trip to Kafka) after the database
                # commit, and before an outage is waited out for what was handled.
                records = [record for partition in pending.values() for record in partition]
                try:
                    await self._process_records(records, producer, stop)
                except _Outage as outage:
                    handled = _next_offsets(records[: outage.done])
                    self._count_records(records[: outage.done])
                    pending.clear()
                    for record in records[outage.done :]:
                        pending.setdefault(TopicPartition(record.topic, record.partition), []).append(record)
                    if handled:
                        with contextlib.suppress(KafkaError):  # else redelivered, de-duplicated
                            await self._commit(consumer, handled)
                    raise
                self._count_records(records)
                await self._commit(consumer, _next_offsets(records))
                pending.clear()
        if self.health.consecutive_failures:
            log.info("consumer_outage_over", consumer=self.spec.name)

    async def _probe_database(self) -> None:
        """Raise an outage unless the database answers (checked before resuming after one)."""
        try:
            await asyncio.wait_for(self.db.ping(), timeout=PING_TIMEOUT)
        except Exception as exc:
            raise _Outage(-1, exc) from exc

    async def _database_answers(self) -> bool:
        try:
            await asyncio.wait_for(self.db.ping(), timeout=PING_TIMEOUT)
        except Exception:
            return False
        return True

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # A partition moved to another member; it will redeliver and de-duplicate.
            partitions = ",".join(sorted(str(tp) for tp in offsets))
            log.warning(
                "consumer_commit_failed", consumer=self.spec.name, partition=partitions, error=str(exc)
            )

    # --- one partition's records ------------------------------------------------------------

    async def _process_records(self, records: list[Record], producer: Any, stop: asyncio.Event) -> None:
        """Handle a fetch's records in order (its partitions one after the other).

        The happy path handles them all in one transaction (:meth:`_apply_at_once`). If an event
        fails (or a record is not a CloudEvent), that transaction rolls back as a whole, and the
        records up to and including the failing one (for a batch handler, the end of its run) are
        handled one transaction each through :meth:`_process`, with retries and dead-lettering;
        the rest then continues, at once again. Per-partition order is kept, and a rolled-back
        event runs again, which at-least-once handlers tolerate anyway. An outage raises
        ``_Outage`` whose ``done`` counts the records committed before it.
        """
        done = 0
        try:
            while done < len(records):
                pending = records[done:]
                failed_at, outcomes = await self._apply_at_once(pending)
                if failed_at is None:
                    for event_type, outcome in outcomes:
                        self._count(event_type, outcome)
                    return
                for record in pending[: failed_at + 1]:
                    await self._process(record, producer, stop)
                    done += 1
        except _Outage as outage:
            outage.done = done
            raise

    async def _apply_at_once(self, records: Sequence[Record]) -> tuple[int | None, list[tuple[str, str]]]:
        """Handle ``records`` in one transaction: their events claimed as processed by one
        statement, then the handlers in order (a batch handler once per run of consecutive events
        of its type, which may span partitions when ``records`` does: each partition's events stay
        in their order). Returns ``(None, outcomes)`` once committed, or, after a rollback, the
        index up to which the caller should handle records one by one (the failing record, or the
        end of the failing run) and no outcomes. An outage raises ``_Outage`` at the first record:
        nothing of ``records`` is committed."""
        failed_at: int | None = None
        outcomes: list[tuple[str, str]] = []
        events: list[CloudEvent] = []
        for index, record in enumerate(records):
            try:
                events.append(parse_message(record))
            except MalformedMessage:
                failed_at = index  # handled (dead-lettered) by the caller's fallback
                break
        try:
            if failed_at is not None:
                raise MalformedMessage("a record of the batch is not a CloudEvent")
            async with self.db.transaction() as session:
                failed_at = 0  # a failing claim falls back record by record
                claimed = await self._claim_many(session, events)
                index = 0
                while index < len(events):
                    event = events[index]
                    failed_at = index
                    if not self.spec.handles(event.type):
                        outcomes.append((event.type, "ignored"))
                        index += 1
                        continue
                    if event.id not in claimed:  # processed before, or earlier in this batch
                        outcomes.append((event.type, "duplicate"))
                        index += 1
                        continue
                    claimed.discard(event.id)
                    batch_handler = self.spec.batch_handlers.get(event.type)
                    if batch_handler is None:
                        token = correlation_id_var.set(event.correlationid or event.id)
                        try:
                            await self._run_handler(session, event, self.spec.handlers[event.type])
                        finally:
                            correlation_id_var.reset(token)
                        outcomes.append((event.type, "handled"))
                        index += 1
                        continue
                    # A run: this event and the next ones of its type, duplicates skipped.
                    run = [event]
                    index += 1
                    while index < len(events) and events[index].type == event.type:
                        following = events[index]
                        if following.id in claimed:
                            claimed.discard(following.id)
                            run.append(following)
                        else:
                            outcomes.append((following.type, "duplicate"))
                        index += 1
                    failed_at = index - 1  # a failing run falls back up to its end
                    token = correlation_id_var.set(event.correlationid or event.id)
                    try:
                        await self._run_batch_handler(session, run, batch_handler)
                    finally:
                        correlation_id_var.reset(token)
                    outcomes.extend((item.type, "handled") for item in run)
                failed_at = None
        except Exception as exc:
            if is_outage(exc) or failed_at is None:
                # Nothing of this batch is known to be committed: resume at its first record.
                raise _Outage(records[0].offset, exc) from exc
            log.info("batch_fallback", consumer=self.spec.name, failed_at=failed_at, error=repr(exc)[:300])
            return failed_at, []
        return None, outcomes

    async def _process(self, record: Record, producer: Any, stop: asyncio.Event) -> None:
        """Handle one record in its own transaction, retrying a failing handler, or dead-letter it."""
        try:
            event = parse_message(record)
        except MalformedMessage as exc:
            await self._dead_letter(record, producer, str(exc), 1)
            return
        if not self.spec.handles(event.type):
            self._count(event.type, "ignored")
            return

        def on_retry(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "handler_failed_retrying",
                consumer=self.spec.name,
                event_id=event.id,
                event_type=event.type,
                attempt=state.attempt_number,
                retry_in=round(state.next_action.sleep, 2) if state.next_action else None,
                error=describe(exc) if exc else "unknown",
            )

        token = correlation_id_var.set(event.correlationid or event.id)
        attempts = 0
        try:
            async for attempt in retrying(
                stop,
                attempts=self.spec.max_attempts,
                initial=self.spec.backoff_base,
                maximum=self.spec.backoff_max,
                retry=retry_if_exception(
                    lambda e: not isinstance(e, (PermanentError, ValidationError, _Outage))
                ),
                on_retry=on_retry,
            ):
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    try:
                        outcome = await self._handle_once(event)
                    except Exception as exc:
                        if is_outage(exc):
                            raise _Outage(record.offset, exc) from exc
                        raise
            self._count(event.type, outcome)
        except (_Outage, Stopped):
            raise
        except Exception as exc:
            if stop.is_set():
                raise Stopped from exc
            # A handler failure is dead-lettered only while the database answers; otherwise the
            # failure was the outage's, not the message's.
            if not await self._database_answers():
                raise _Outage(record.offset, exc) from exc
            await self._dead_letter(record, producer, describe(exc), attempts)
        finally:
            correlation_id_var.reset(token)

    async def _handle_once(self, event: CloudEvent) -> str:
        async with self.db.transaction() as session:
            return await self._claim_and_handle(session, event)

    async def _claim_many(self, session: AsyncSession, events: Sequence[CloudEvent]) -> set[str]:
        """Record the batch's handled events as processed by this consumer, in one statement;
        returns the ids claimed now (not processed before). Ignored event types are not recorded."""
        rows = {
            event.id: event.type for event in events if self.spec.handles(event.type)
        }  # an id twice in the batch is claimed once: its second delivery is a duplicate
        if not rows:
            return set()
        if self._claim_statement is None:
            processed = self.tables.processed_events
            batch = (
                func.unnest(bindparam("ids", type_=ARRAY(Text)), bindparam("types", type_=ARRAY(Text)))
                .table_valued("id", "type")
                .render_derived(name="e", with_types=False)
            )
            self._claim_statement = (
                insert(processed)
                .from_select(
                    ["consumer", "event_id", "event_type"],
                    select(bindparam("consumer", type_=Text), batch.c.id, batch.c.type),
                )
                .on_conflict_do_nothing()
                .returning(processed.c.event_id)
            )
        result = await session.execute(
            self._claim_statement,
            {"consumer": self.spec.name, "ids": list(rows), "types": list(rows.values())},
        )
        return {str(row[0]) for row in result}

    async def _claim_and_handle(self, session: AsyncSession, event: CloudEvent) -> str:
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
        batch_handler = self.spec.batch_handlers.get(event.type)
        if batch_handler is not None:
            await self._run_batch_handler(session, [event], batch_handler)
        else:
            await self._run_handler(session, event, self.spec.handlers[event.type])
        return "handled"

    async def _run_handler(self, session: AsyncSession, event: CloudEvent, handler: Handler) -> None:
        """The handler, inside a consumer span continuing the event's trace when tracing is on."""
        if tracing.enabled():
            with tracing.consumer_span(event, self.spec.name):
                await handler(session, event)
        else:
            await handler(session, event)

    async def _run_batch_handler(
        self, session: AsyncSession, events: Sequence[CloudEvent], handler: BatchHandler
    ) -> None:
        """A batch handler, inside a consumer span of the run's first event when tracing is on."""
        if tracing.enabled():
            with tracing.consumer_span(events[0], self.spec.name):
                await handler(session, events)
        else:
            await handler(session, events)

    async def _dead_letter(self, record: Record, producer: Any, error: str, attempts: int) -> None:
        topic = dead_letter_topic(record.topic)
        event_type = event_type_of(record.value)
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
        self._count(event_type, "dead_lettered")
        DEAD_LETTERED.labels(self.spec.name, record.topic).inc()
        log.error(
            "event_dead_lettered",
            consumer=self.spec.name,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            event_type=event_type,
            dead_letter_topic=topic,
            error=error[:500],
        )


async def poll_or_stop(
    consumer: AIOKafkaConsumer, stop: asyncio.Event, wait: float, max_records: int
) -> dict[TopicPartition, list[Record]]:
    """Records as soon as they come, else nothing after ``wait`` seconds or once ``stop`` is
    set (a cancelled poll leaves fetched records in aiokafka's buffer for the next one)."""
    poll = asyncio.ensure_future(
        consumer.getmany(timeout_ms=max(1, int(wait * 1000)), max_records=max_records)
    )
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({poll, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if not poll.done():
            poll.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poll
    return {} if poll.cancelled() else poll.result()


def set_fetch_wait(consumer: AIOKafkaConsumer, seconds: float) -> None:
    """How long the broker may hold this consumer's next empty fetch (aiokafka reads it from its
    fetcher for each request it builds; the option is fixed at construction otherwise)."""
    fetcher = getattr(consumer, "_fetcher", None)
    if fetcher is not None and hasattr(fetcher, "_fetch_max_wait_ms"):
        fetcher._fetch_max_wait_ms = int(seconds * 1000)
