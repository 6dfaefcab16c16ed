"""The dispatcher: claims queued messages, hands them to the provider, records the outcome.

Each message is claimed (``sending``) and committed before the provider is called, and its
outcome is committed after, so a crash can never send a message twice: a message found still
``sending`` after ``dispatch_claim_timeout_seconds`` is failed as "outcome unknown", not resent.
Transient provider errors are retried with exponential backoff up to ``dispatch_max_attempts``.
Woken by a NOTIFY on every commit that queues a message (or resumes a campaign); otherwise it sleeps
until the earliest queued message is due (a retry's backoff), at most
``dispatch_safety_poll_seconds`` (30 s: the safety net for a notification lost on a reconnection).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from prometheus_client import Counter

from aintech_shared import live
from aintech_shared.aio import sleep_or_stop, wait_first
from aintech_shared.db import Database
from aintech_shared.health import LoopHealth
from omnichannel.conversations import service as conversations
from omnichannel.core.base import utcnow
from omnichannel.core.events import DISPATCH_CHANNEL
from omnichannel.messaging import delivery_status
from omnichannel.messaging import outbound as outbound_queue
from omnichannel.messaging import store as message_store
from omnichannel.messaging.models import Message
from omnichannel.providers.base import (
    Accepted,
    OutgoingAttachment,
    OutgoingEmail,
    OutgoingText,
    ProviderError,
)
from omnichannel.providers.factory import Providers
from omnichannel.settings import Settings

log = structlog.get_logger("omnichannel.dispatcher")

DISPATCHED = Counter(
    "omnichannel_messages_dispatched_total", "Outbound messages by outcome", ["channel", "outcome"]
)
PARALLEL_SENDS = 8
IDLE_FLOOR = 1.0  # the shortest idle sleep (the old poll): a due message another dispatcher holds


@dataclass(frozen=True)
class Job:
    message_id: uuid.UUID
    channel: str
    attempts: int
    payload: OutgoingText | OutgoingEmail


class Dispatcher:
    def __init__(self, db: Database, settings: Settings, providers: Providers) -> None:
        self.db = db
        self.settings = settings
        self.providers = providers
        self.health = LoopHealth("dispatcher")
        self._wakeup = asyncio.Event()
        self._last_sweep = 0.0
        self._limit = asyncio.Semaphore(PARALLEL_SENDS)
        self.channel = DISPATCH_CHANNEL  # the NOTIFY channel it listens on
        self.listening = asyncio.Event()  # set while its LISTEN is in place (tests wait on it)

    async def dispatch_once(self) -> int:
        """Send one batch of due messages; returns how many were claimed."""
        await self._sweep_stuck()
        async with self.db.transaction() as session:
            claimed = await outbound_queue.claim_due(session, limit=self.settings.dispatch_batch_size)
            await conversations.load(session, conversation_ids=[m.conversation_id for m in claimed])
            files = await message_store.attachments_by_message(session, messages=claimed)
            sealed = await message_store.sealed_of(session, messages=claimed)
            jobs = [await self._job(session, m, files[m.id], sealed.get(m.id)) for m in claimed]
        if not jobs:
            return 0
        outcomes = await asyncio.gather(*(self._send(job) for job in jobs))
        try:
            await self._record_batch(list(zip(jobs, outcomes, strict=True)))
        except Exception:  # one bad row must not lose the others' outcomes: record them one by one
            log.exception("dispatch_batch_record_failed")
            for job, outcome in zip(jobs, outcomes, strict=True):
                await self._record_batch([(job, outcome)])
        return len(jobs)

    async def _job(
        self, session: Any, message: Message, files: list[Any], sealed: message_store.Sealed | None
    ) -> Job:
        """What the provider gets: the real text (``sealed``) when the stored one is redacted."""
        payload: OutgoingText | OutgoingEmail
        if message.channel == "email":
            conversation = await conversations.get(session, conversation_id=message.conversation_id)
            payload = OutgoingEmail(
                to=message.to_address,
                to_name=conversation.display_name if conversation else None,
                subject=message.subject or "",
                text=sealed.body if sealed else message.body,
                html=sealed.html if sealed else message.html,
                message_id=str(message.id),
                rfc_message_id=f"<{message.id}@{self.settings.email_reply_domain}>",
                reply_to=f"inbox@{self.settings.email_reply_domain}",
                in_reply_to=message.in_reply_to,
                attachments=tuple(OutgoingAttachment(f.filename, f.content_type, f.content) for f in files),
                listed_text=message.body if sealed else None,
                listed_html=message.html if sealed else None,
            )
        else:
            callback = None
            if self.settings.public_base_url:
                callback = self.settings.public_base_url.rstrip("/") + "/webhooks/twilio/messaging/status"
            payload = OutgoingText(
                channel=message.channel,
                to=message.to_address,
                body=sealed.body if sealed else message.body,
                media_urls=tuple(str(m["url"]) for m in message.media if m.get("url")),
                status_callback=callback,
                listed_body=message.body if sealed else None,
                content_sid=message.context.get("content_sid"),
                content_variables=message.context.get("content_variables"),
            )
        return Job(message_id=message.id, channel=message.channel, attempts=message.attempts, payload=payload)

    async def _send(self, job: Job) -> Accepted | ProviderError:
        async with self._limit:
            try:
                if isinstance(job.payload, OutgoingEmail):
                    return await self.providers.email.send_email(job.payload)
                return await self.providers.text.send_text(job.payload)
            except ProviderError as exc:
                return exc
            except Exception as exc:  # an SDK surprise must not leave the message "sending"
                log.exception("provider_call_crashed", message_id=str(job.message_id))
                return ProviderError(f"{type(exc).__name__}: {exc}", transient=True)

    async def _record_batch(self, results: list[tuple[Job, Accepted | ProviderError]]) -> None:
        """Record the outcomes of a batch in one transaction (one commit for the whole batch)."""
        async with self.db.transaction() as session:
            locked = await message_store.lock_many(
                session, message_ids=[job.message_id for job, _ in results]
            )
            await conversations.load(session, conversation_ids=[m.conversation_id for m in locked.values()])
            for job, outcome in results:
                message = locked.get(job.message_id)
                if message is not None and message.status == "sending":
                    await self._record(session, message, job, outcome)

    async def _record(
        self, session: Any, message: Message, job: Job, outcome: Accepted | ProviderError
    ) -> None:
        if isinstance(outcome, Accepted):
            await delivery_status.record_accepted(
                session,
                message=message,
                provider=outcome.provider,
                provider_message_id=outcome.provider_message_id,
                status=outcome.status,
            )
            DISPATCHED.labels(job.channel, "sent").inc()
            return
        retry_at = None
        if outcome.transient and job.attempts < self.settings.dispatch_max_attempts:
            delay = min(2 ** (job.attempts - 1), 300) * (1 + random.random() / 2)
            retry_at = utcnow() + timedelta(seconds=delay)
        await delivery_status.record_failure(
            session, message=message, code=outcome.code, detail=str(outcome), retry_at=retry_at
        )
        DISPATCHED.labels(job.channel, "retry" if retry_at else "failed").inc()
        log.warning(
            "message_send_failed",
            message_id=str(job.message_id),
            attempt=job.attempts,
            retrying=retry_at is not None,
            error=str(outcome)[:300],
        )

    async def _sweep_stuck(self) -> None:
        now = time.monotonic()
        if now - self._last_sweep < 30:
            return
        self._last_sweep = now
        async with self.db.transaction() as session:
            failed = await outbound_queue.fail_stuck(
                session, older_than=timedelta(seconds=self.settings.dispatch_claim_timeout_seconds)
            )
        if failed:
            log.error("messages_stuck_sending_failed", count=failed)

    async def run(self, stop: asyncio.Event) -> None:
        """Dispatch until ``stop`` is set; database or provider trouble is waited out, never fatal."""
        # Woken by the queue's NOTIFY through the chassis' listener (reconnects on its own; a gap
        # wakes the loop too, so a message queued while it was away is not left to the poll).
        listener = live.Listener(
            self.db, self.channel, on_message=lambda _message: self._wakeup.set(), on_gap=self._wakeup.set
        )
        self.listening = listener.listening
        await listener.start(wait=1.0)
        backoff = 0.5
        try:
            while not stop.is_set():
                try:
                    sent = await self.dispatch_once()
                    self.health.progress()
                    backoff = 0.5
                except Exception as exc:
                    self.health.failed(f"{type(exc).__name__}: {exc}")
                    log.exception("dispatcher_failed", error=repr(exc))
                    await sleep_or_stop(stop, backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                if sent < self.settings.dispatch_batch_size:
                    await self._idle(stop, await self._until_due())
        finally:
            await listener.stop()

    async def _until_due(self) -> float:
        """How long to sleep when idle: until the earliest queued message is due (at least
        ``IDLE_FLOOR``: one due now is held by another dispatcher), at most the safety poll."""
        safety = self.settings.dispatch_safety_poll_seconds
        try:
            async with self.db.transaction() as session:
                due = await outbound_queue.seconds_until_due(session)
        except Exception as exc:  # the database away: look again soon, as the loop would anyway
            log.warning("dispatcher_next_due_failed", error=repr(exc))
            return min(safety, IDLE_FLOOR)
        return safety if due is None else min(safety, max(IDLE_FLOOR, due))

    async def _idle(self, stop: asyncio.Event, wait: float) -> None:
        await wait_first(self._wakeup, stop, within=wait)
        self._wakeup.clear()
