"""Transactional outbox: events are rows written in the business transaction, sent by the relay."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from aiokafka import AIOKafkaProducer
from prometheus_client import Counter, Gauge
from sqlalchemy import column, func, select, true, update, values
from sqlalchemy.ext.asyncio import AsyncSession
from tenacity import RetryCallState

from aintech_contracts.envelope import CONTENT_TYPE_HEADER, STRUCTURED_CONTENT_TYPE, CloudEvent
from aintech_contracts.events import EventData
from aintech_shared.aio import Stopped, retrying, run_until_stopped, sleep_or_stop
from aintech_shared.context import current_correlation_id
from aintech_shared.db import Database
from aintech_shared.events.faults import describe, is_outage
from aintech_shared.events.tables import MessagingTables
from aintech_shared.health import DEFAULT_MAX_FAILURES, DEFAULT_STALL_SECONDS, LoopHealth
from aintech_shared.metrics import OUTBOX_OLDEST_AGE
from aintech_shared.tracing import current_traceparent

log = structlog.get_logger("aintech.outbox")

OUTBOX_SENT = Counter("outbox_events_sent_total", "Events relayed from the outbox to Kafka", ["schema"])
OUTBOX_BACKLOG = Gauge(
    "outbox_unsent_events", "Outbox rows committed but not yet relayed, as of the last batch", ["schema"]
)


# The CloudEvents Kafka binding, structured mode: the whole event is the value; this is the only header.
BINDING_HEADERS = {CONTENT_TYPE_HEADER: STRUCTURED_CONTENT_TYPE}
_BINDING_HEADERS_JSON = orjson.dumps(BINDING_HEADERS).decode()
_DATA = {"data"}  # the envelope without its payload
# The outbox row's parameters in ``Outbox.inline_sql`` (by position) and their SQL types.
_INLINE_TYPES = ((3, "uuid"), (4, "text"), (5, "text"), (6, "text"), (7, "jsonb"), (8, "jsonb"))


class Outbox:
    """Writes events into the service's outbox table, inside the caller's transaction."""

    def __init__(self, tables: MessagingTables, *, source: str) -> None:
        self.tables = tables
        self.source = source
        self._lock_space = key_lock_space(tables.schema)

    async def publish(
        self, session: AsyncSession, payload: EventData, *, key: str, subject: str | None = None
    ) -> CloudEvent:
        """Stage ``payload`` for publication; it is sent only if the transaction commits.

        Takes a transaction-scoped advisory lock on (topic, key) first, so a second transaction
        publishing for the same aggregate waits until this one ends: per key, outbox ``seq``
        order (the relay's order) is commit order. Writers of one aggregate therefore serialise;
        two transactions locking two aggregates in opposite orders deadlock, which Postgres
        detects by failing one of them (it can be retried).
        """
        [event] = await self._stage(session, [(payload, key, subject)])
        return event

    async def publish_many(
        self, session: AsyncSession, items: Sequence[tuple[EventData, str]]
    ) -> list[CloudEvent]:
        """Stage several (payload, key) events at once, in order: the same per-key locks as
        ``publish``, taken in the items' order, in one statement whatever their number."""
        return await self._stage(session, [(payload, key, None) for payload, key in items])

    def inline_sql(self, *, first: int, name: str = "outbox", after: str | None = None) -> str:
        """Two CTEs that stage one event inside a caller's own statement (one round trip for the
        caller's write and its event), for a hot path written in SQL and run with asyncpg.

        The same row, lock and wake-up as :meth:`publish`: ``{name}_keys`` takes the (topic, key)
        advisory lock and queues the relay's NOTIFY; ``{name}_row`` inserts the outbox row from
        it, so the row's ``seq`` is drawn after the lock is held. Postgres runs every
        data-modifying CTE of a statement whether or not the statement reads it. The parameters
        are ``$first`` .. ``$first + 8``, in the order of :meth:`inline_args`.

        ``after``: a CTE of the caller's statement (e.g. its own INSERT … RETURNING) that must run
        before the lock is taken, as :meth:`publish` after the caller's earlier statements; the
        event is staged only if it returned a row.
        """
        # Built from names and placeholders only (schema, table, CTE names): never input.
        n = [f"${first + i}" for i in range(9)]
        source = f" FROM (SELECT 1 FROM {after} LIMIT 1) AS {name}_after" if after else ""  # noqa: S608
        table, values = self.tables.outbox.fullname, ", ".join(f"{n[i]}::{t}" for i, t in _INLINE_TYPES)
        locks = f"pg_advisory_xact_lock({n[0]}::int4, hashtext({n[1]}::text)) AS k0"
        keys = f"{name}_keys AS (SELECT {locks}, pg_notify({n[2]}::text, '') AS woken{source})"
        columns = "event_id, topic, key, event_type, payload, headers"
        row = (
            f"{name}_row AS (INSERT INTO {table} ({columns}) SELECT {values} FROM {name}_keys RETURNING seq)"  # noqa: S608
        )
        return f"{keys}, {row}"

    def inline_args(
        self,
        payload: EventData | type[EventData],
        *,
        key: str,
        subject: str | None = None,
        data_json: bytes | None = None,
    ) -> tuple[CloudEvent, list[Any]]:
        """The event :meth:`publish` would stage, and the parameters of :meth:`inline_sql` for it
        (JSON as text, as the engines' ``jsonb`` codec takes it).

        The payload is serialised once, straight to JSON (``model_dump_json``), and set into the
        envelope's JSON as it is: the same document as :meth:`publish` writes (``data`` is never
        stripped of its nulls, only the envelope is). ``data_json``: the payload's JSON already
        written by the caller (then ``payload`` may be the event's class: it names the event type
        and topic only; the JSON must be a valid payload of it). The returned event is the
        envelope (its id, time, correlation…) with an empty ``data``: the payload is in the
        arguments, not dumped a second time.
        """
        event = self._envelope(payload, key, subject)
        if data_json is None:
            if not isinstance(payload, EventData):
                raise TypeError("inline_args: give the payload, or its class and data_json")
            data_json = payload.__pydantic_serializer__.to_json(payload)
        head = event.model_dump(mode="json", exclude_none=True, exclude=_DATA)
        head["data"] = orjson.Fragment(data_json)
        args = [
            self._lock_space,
            f"{payload.topic}\x1f{key}",
            notify_channel(self.tables.schema),
            event.id,
            payload.topic,
            key,
            event.type,
            orjson.dumps(head).decode(),
            _BINDING_HEADERS_JSON,
        ]
        return event, args

    def _envelope(self, payload: EventData | type[EventData], key: str, subject: str | None) -> CloudEvent:
        """:meth:`_wrap`'s envelope without its ``data`` (the payload is not dumped)."""
        return CloudEvent(
            source=self.source,
            type=payload.event_type,
            subject=subject or key,
            correlationid=current_correlation_id(),
            partitionkey=key,
            traceparent=current_traceparent(),
        )

    def _wrap(self, payload: EventData, key: str, subject: str | None) -> CloudEvent:
        """The envelope of one event this outbox stages (correlation and trace of the caller)."""
        return CloudEvent.wrap(
            payload,
            type_=payload.event_type,
            source=self.source,
            subject=subject or key,
            correlationid=current_correlation_id(),
            partitionkey=key,
            traceparent=current_traceparent(),
        )

    async def _stage(
        self, session: AsyncSession, items: Sequence[tuple[EventData, str, str | None]]
    ) -> list[CloudEvent]:
        events = [self._wrap(payload, key, subject) for payload, key, subject in items]
        if not events:
            return events
        # One round trip: the per-key locks and the NOTIFY that wakes the relay at commit (NOTIFY
        # is transactional, so nothing is announced for a rolled-back event) in a CTE, which
        # Postgres evaluates once (volatile functions: never inlined) and before the first row is
        # inserted, so each row's ``seq`` is drawn after its key's lock is held.
        keys = select(
            *(
                func.pg_advisory_xact_lock(
                    self._lock_space, func.hashtext(f"{payload.topic}\x1f{key}")
                ).label(f"k{n}")
                for n, (payload, key, _) in enumerate(items)
            ),
            func.pg_notify(notify_channel(self.tables.schema), "").label("woken"),
        ).cte("outbox_keys")
        outbox = self.tables.outbox
        columns = ("event_id", "topic", "key", "event_type", "payload", "headers")
        rows = values(*(column(name, outbox.c[name].type) for name in columns), name="staged").data(
            [
                (
                    event.id,
                    payload.topic,
                    key,
                    event.type,
                    event.model_dump(mode="json", exclude_none=True),
                    BINDING_HEADERS,
                )
                for event, (payload, key, _) in zip(events, items, strict=True)
            ]
        )
        await session.execute(
            outbox.insert().from_select(
                list(columns),
                select(*(rows.c[name] for name in columns)).select_from(rows).join(keys, true()),
            )
        )
        return events


def _age(created_at: datetime) -> float:
    return max(0.0, (datetime.now(UTC) - created_at).total_seconds())


def key_lock_space(schema: str) -> int:
    """First key of the (topic, key) advisory locks of ``schema``'s outbox: a signed int4."""
    return int.from_bytes(zlib.crc32(f"outbox-key:{schema}".encode()).to_bytes(4, "big"), "big", signed=True)


def notify_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel on which a schema's relay is woken up."""
    return f"aintech_outbox_{schema}"


def new_producer(bootstrap: str, **overrides: Any) -> AIOKafkaProducer:
    """An idempotent producer (acks=all) suited to relaying events without duplicates."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 5,
        "request_timeout_ms": 15000,
        "max_batch_size": 256 * 1024,
        "client_id": "aintech-relay",
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


class OutboxRelay:
    """Moves committed outbox rows to Kafka, in order, marking each sent.

    Rows are claimed with ``FOR UPDATE SKIP LOCKED`` inside a transaction that also holds a
    per-schema advisory lock, so two relays never send the same row and never interleave
    (which would break per-key ordering): the second relay is a hot standby. A crash after the
    send and before the commit resends the batch; consumers de-duplicate on the event id.

    The relay wakes on the NOTIFY every publish sends at commit. While its LISTEN connection is
    up it also looks every ``listening_interval`` seconds (a safety net that costs nothing when
    idle); while it is down (the database away, a reconnection) it polls every ``idle_interval``.
    """

    def __init__(
        self,
        db: Database,
        tables: MessagingTables,
        *,
        bootstrap: str,
        batch_size: int = 500,
        idle_interval: float = 1.0,
        listening_interval: float = 30.0,
        max_backoff: float = 5.0,
        max_failures: int = DEFAULT_MAX_FAILURES,
        stall_seconds: float = DEFAULT_STALL_SECONDS,
    ) -> None:
        self.db = db
        self.tables = tables
        self.bootstrap = bootstrap
        self.batch_size = batch_size
        self.idle_interval = idle_interval
        self.listening_interval = listening_interval
        self._listening = False
        self.max_backoff = max_backoff
        self.lock_key = zlib.crc32(f"outbox:{tables.schema}".encode())
        self._producer: AIOKafkaProducer | None = None
        self._wakeup = asyncio.Event()
        self.health = LoopHealth(
            f"relay:{tables.schema}", max_failures=max_failures, stall_seconds=stall_seconds
        )
        self._standby = False

    @property
    def listening(self) -> bool:
        """Whether the relay's LISTEN connection is up (then it polls only every ``listening_interval``)."""
        return self._listening

    async def _get_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = new_producer(self.bootstrap)
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await producer.stop()
            except Exception as exc:  # a broken producer may fail to flush; it is discarded anyway
                log.warning("relay_producer_stop_failed", error=str(exc))

    async def relay_once(self) -> int:
        """Send one batch of unsent rows; returns how many were sent (0 when idle or not leader)."""
        outbox = self.tables.outbox
        async with self.db.sessionmaker() as session, session.begin():
            leader = await session.scalar(select(func.pg_try_advisory_xact_lock(self.lock_key)))
            self._standby = not leader
            if not leader:
                return 0
            rows: Sequence[Any] = (
                await session.execute(
                    select(
                        outbox.c.seq,
                        outbox.c.topic,
                        outbox.c.key,
                        outbox.c.payload,
                        outbox.c.headers,
                        outbox.c.created_at,
                    )
                    .where(outbox.c.sent_at.is_(None))
                    .order_by(outbox.c.seq)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                OUTBOX_BACKLOG.labels(self.tables.schema).set(0)
                OUTBOX_OLDEST_AGE.labels(self.tables.schema).set(0)
                return 0
            # Set before sending: while Kafka refuses the batch, each retry shows the age growing.
            OUTBOX_OLDEST_AGE.labels(self.tables.schema).set(_age(rows[0].created_at))
            self.health.waiting(f"sending {len(rows)}")
            producer = await self._get_producer()
            futures = []
            for row in rows:
                headers = [(k, str(v).encode()) for k, v in (row.headers or {}).items()]
                futures.append(
                    await producer.send(
                        row.topic,
                        value=orjson.dumps(row.payload),
                        key=row.key.encode() if row.key else None,
                        headers=headers,
                    )
                )
            await asyncio.gather(*futures)
            await session.execute(
                update(outbox).where(outbox.c.seq.in_([r.seq for r in rows])).values(sent_at=func.now())
            )
            backlog, oldest = 0, None
            if len(rows) == self.batch_size:  # behind: count what is left (a partial-index scan)
                left = (
                    await session.execute(
                        select(func.count(), func.min(outbox.c.created_at))
                        .select_from(outbox)
                        .where(outbox.c.sent_at.is_(None), outbox.c.seq > rows[-1].seq)
                    )
                ).one()
                backlog, oldest = int(left[0] or 0), left[1]
        OUTBOX_BACKLOG.labels(self.tables.schema).set(backlog)
        OUTBOX_OLDEST_AGE.labels(self.tables.schema).set(_age(oldest) if oldest is not None else 0)
        OUTBOX_SENT.labels(self.tables.schema).inc(len(rows))
        return len(rows)

    async def _listen(self, stop: asyncio.Event) -> None:
        """Hold a LISTEN connection that wakes the relay on every committed publish."""
        channel = notify_channel(self.tables.schema)

        def on_notify(*_: Any) -> None:
            self._wakeup.set()

        while not stop.is_set():
            try:
                async with self.db.engine.connect() as conn:
                    raw = await conn.get_raw_connection()
                    driver: Any = raw.driver_connection
                    if driver is None:
                        raise RuntimeError("no driver connection to LISTEN on")
                    await driver.add_listener(channel, on_notify)
                    try:
                        self._listening = True
                        self._wakeup.set()  # catch up on anything committed while not listening
                        while not stop.is_set() and not driver.is_closed():
                            await sleep_or_stop(stop, 5.0)
                    finally:
                        self._listening = False
                        self._wakeup.set()  # back to polling at once, not after the long wait
                        if not driver.is_closed():
                            await driver.remove_listener(channel, on_notify)
            except Exception as exc:  # the database went away: fall back to polling meanwhile
                log.warning("relay_listen_failed", error=repr(exc))
                await sleep_or_stop(stop, 2.0)

    async def _idle(self, stop: asyncio.Event) -> None:
        """Wait for a NOTIFY, ``stop``, or the polling interval (long while listening), whichever
        comes first."""
        waiter = asyncio.ensure_future(self._wakeup.wait())
        stopper = asyncio.ensure_future(stop.wait())
        timeout = self.listening_interval if self._listening else self.idle_interval
        try:
            await asyncio.wait({waiter, stopper}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            stopper.cancel()
        self._wakeup.clear()

    async def _relay_retrying(self, stop: asyncio.Event) -> int:
        """One batch, retried with the shared backoff until it goes through or ``stop`` is set."""

        def on_retry(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            error = describe(exc) if exc else "unknown"
            self.health.failed(error, "retrying: " + (type(exc).__name__ if exc else "error"))
            wait = round(state.next_action.sleep, 2) if state.next_action else None
            if exc is not None and is_outage(exc):
                log.warning("relay_send_failed", error=error, attempt=state.attempt_number, retry_in=wait)
            else:
                log.error(
                    "relay_failed", error=error, attempt=state.attempt_number, retry_in=wait, exc_info=exc
                )

        async for attempt in retrying(stop, initial=0.2, maximum=self.max_backoff, on_retry=on_retry):
            with attempt:
                try:
                    sent = await run_until_stopped(stop, self.relay_once())
                except Stopped:
                    raise
                except Exception:
                    await self._drop_producer()  # a broken producer is rebuilt for the next attempt
                    raise
        self.health.progress("standby" if self._standby else "ok")
        return sent

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set, backing off (jittered) while Kafka or Postgres is unavailable."""
        log.info("relay_started", schema=self.tables.schema)
        listener = asyncio.create_task(self._listen(stop))
        try:
            while not stop.is_set():
                try:
                    sent = await self._relay_retrying(stop)
                except Stopped:
                    break
                except Exception:
                    if stop.is_set():  # the last attempt failed as the worker was stopping
                        break
                    raise
                if sent < self.batch_size:
                    await self._idle(stop)
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
            await self._drop_producer()
            log.info("relay_stopped", schema=self.tables.schema)
