"""Revoked sessions, refused at once: an in-memory denylist fed by the authenticator's events.

Every gateway replica reads every partition of ``auth.session`` itself (partitions assigned, no
consumer group, no committed offsets): on start it seeks each partition to the first event newer
than *now - the longest access-token lifetime* and reads up to the end before it reports ready,
so a replica that starts late knows every session whose tokens may still be alive. A
``session.revoked`` event denies its session ids until ``deny_until``; entries are dropped after
that, when every token of the session has expired anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import TOPICS
from aintech_contracts.events.auth import SESSION_TOPIC, SessionRevoked
from gateway.settings import Settings

log = structlog.get_logger("gateway.denylist")

RevocationListener = Callable[[str], None]


class SessionDenylist:
    """Session id -> unix time until which its access tokens are refused."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._listeners: list[RevocationListener] = []
        self.caught_up = False
        self.applied = 0

    def __len__(self) -> int:
        return len(self._until)

    def is_denied(self, session_id: str, now: float) -> bool:
        until = self._until.get(session_id)
        return until is not None and until > now

    def deny(self, session_id: str, until: float) -> None:
        if until <= self._until.get(session_id, 0.0):
            return
        self._until[session_id] = until
        for listener in self._listeners:
            listener(session_id)

    def on_revoke(self, listener: RevocationListener) -> None:
        """Call ``listener(session_id)`` for each newly denied session (open WebSockets close)."""
        self._listeners.append(listener)

    def apply(self, raw: bytes, now: float) -> bool:
        """Apply one message of the topic; False when it is not a well-formed revocation."""
        try:
            event = CloudEvent.from_bytes(raw)
            if event.type != SessionRevoked.event_type:
                return False
            revoked = event.data_as(SessionRevoked)
        except (ValidationError, ValueError):
            log.warning("denylist_message_ignored", reason="malformed session.revoked event")
            return False
        until = revoked.deny_until.timestamp()
        if until <= now:
            return True
        for session_id in revoked.session_ids:
            self.deny(str(session_id), until)
        self.applied += 1
        return True

    def sweep(self, now: float) -> int:
        """Forget sessions whose deny window is over; returns how many."""
        expired = [sid for sid, until in self._until.items() if until <= now]
        for sid in expired:
            del self._until[sid]
        return len(expired)


class DenylistFeed:
    """The Kafka consumer inside the gateway process that keeps a :class:`SessionDenylist` current."""

    def __init__(self, settings: Settings, denylist: SessionDenylist) -> None:
        self.bootstrap = settings.kafka_bootstrap
        self.lookback = settings.access_token_max_lifetime + 60  # + clock skew and leeway
        self.denylist = denylist
        self.topic = SESSION_TOPIC
        self.error: str | None = "starting"
        self.lag: dict[int, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._caught_up = asyncio.Event()
        self.idle_fetch_wait = IDLE_FETCH_WAIT
        self.idle_after = IDLE_AFTER
        self.idle = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="denylist-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait_caught_up(self, within: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._caught_up.wait(), within)
        return self._caught_up.is_set()

    def status(self) -> tuple[bool, dict[str, Any]]:
        """Readiness: ready once the feed has read the topic up to where it was at start-up."""
        details: dict[str, Any] = {
            "caught_up": self.denylist.caught_up,
            "denied_sessions": len(self.denylist),
            "revocations_applied": self.denylist.applied,
        }
        if self.error:
            details["error"] = self.error
        return self.denylist.caught_up, details

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except (KafkaError, OSError, TimeoutError) as exc:
                self.error = f"{type(exc).__name__}"
                log.warning("denylist_feed_failed", error=repr(exc), retry_in=round(backoff, 2))
            await asyncio.sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, 10.0)

    async def _consume(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            client_id="gateway-denylist",
            # longer than an idle fetch the broker holds, else it is given up
            request_timeout_ms=int((self.idle_fetch_wait + 10.0) * 1000),
        )
        await consumer.start()
        try:
            # The catalogue declares the partition count (make migrate creates the topic with it).
            tps = [TopicPartition(self.topic, p) for p in range(TOPICS[self.topic])]
            consumer.assign(tps)
            since_ms = int((time.time() - self.lookback) * 1000)
            starts = await consumer.offsets_for_times(dict.fromkeys(tps, since_ms))
            ends = await consumer.end_offsets(tps)
            for tp in tps:
                found = starts.get(tp)
                consumer.seek(tp, found.offset if found is not None else ends[tp])
            pending = {tp: end for tp, end in ends.items() if end > 0}
            self.error = None
            last_sweep = last_records = time.monotonic()
            self.idle = False
            while True:
                wait = self.idle_fetch_wait if self.idle else 0.5
                batches = await consumer.getmany(timeout_ms=int(wait * 1000), max_records=500)
                now = time.time()
                if batches:
                    last_records = time.monotonic()
                # Caught up and quiet: one held fetch and one turn every 5 s (a revocation ends the
                # broker's wait at once); the fetch after a record is held 0.5 s again.
                self.idle = self.denylist.caught_up and time.monotonic() - last_records >= self.idle_after
                _set_fetch_wait(consumer, self.idle_fetch_wait if self.idle else 0.5)
                for records in batches.values():
                    for record in records:
                        if record.value is not None:
                            self.denylist.apply(record.value, now)
                if not self.denylist.caught_up:
                    for tp in list(pending):
                        if await consumer.position(tp) >= pending[tp]:
                            del pending[tp]
                    if not pending:
                        self.denylist.caught_up = True
                        self._caught_up.set()
                        log.info("denylist_caught_up", denied_sessions=len(self.denylist))
                if time.monotonic() - last_sweep > 30:
                    self.denylist.sweep(now)
                    last_sweep = time.monotonic()
        finally:
            await consumer.stop()


# Once caught up and nothing arrived for IDLE_AFTER seconds, the feed's fetch may be held this long
# by the broker and its loop turns as seldom (decision 0082's idle consumer, issue #15).
IDLE_FETCH_WAIT = 5.0
IDLE_AFTER = 2.0


def _set_fetch_wait(consumer: AIOKafkaConsumer, seconds: float) -> None:
    """How long the broker may hold the next empty fetch (aiokafka reads it from its fetcher for
    each request it builds; the option is fixed at construction otherwise)."""
    fetcher = getattr(consumer, "_fetcher", None)
    if fetcher is not None and hasattr(fetcher, "_fetch_max_wait_ms"):
        fetcher._fetch_max_wait_ms = int(seconds * 1000)
