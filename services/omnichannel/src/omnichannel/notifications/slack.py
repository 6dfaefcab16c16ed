"""Staff alerts on Slack: queued with the notification, posted by the worker to the kind's incoming webhook.

A post is queued (``slack_posts``) in the transaction of the notification, once per alert however many
users it reached, for the staff alert kinds (``SLACK_KINDS``); one whose kind has no webhook configured
(``OMNICHANNEL_SLACK_WEBHOOK_URLS``) when its turn comes is marked ``skipped``, not posted.
The worker's ``SlackPoster`` is woken by the queueing commit's NOTIFY (else it sleeps until the
earliest post is due, at most ``dispatch_safety_poll_seconds``); it claims due posts (a lease, so
two workers never post the same one at once), posts each with a few tries in a row (tenacity:
exponential backoff with jitter; Slack's ``429 Retry-After`` is waited out as asked), and records the
outcome. A post still failing waits and is tried again in a later round, and is failed after
``slack_max_rounds``. The webhook URL is a secret: it is never logged, nor is any error text that
could carry it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog
from prometheus_client import Counter
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from aintech_shared import live
from aintech_shared.aio import sleep_or_stop, wait_first
from aintech_shared.db import Database
from aintech_shared.health import LoopHealth
from omnichannel.core.base import utcnow
from omnichannel.core.events import SLACK_CHANNEL
from omnichannel.notifications.models import SlackPost
from omnichannel.settings import SLACK_KINDS, Settings

log = structlog.get_logger("omnichannel.slack")

POSTED = Counter(
    "omnichannel_slack_posts_total", "Staff alerts posted to Slack by outcome", ["kind", "outcome"]
)
# A claimed post is someone else's to retry only after this long (a crashed worker's lease expires).
LEASE = timedelta(minutes=5)
# Retry-After longer than this is not waited in a row: the post waits for a later round instead.
MAX_INLINE_RETRY_AFTER = 60.0
BATCH = 20


async def enqueue(
    session: AsyncSession, *, kind: str, title: str, body: str, link: str | None, dedupe_key: str
) -> bool:
    """Queue a staff alert for Slack (kinds in ``SLACK_KINDS``); False when it is no such kind or is queued
    already. Whether the kind has a webhook is decided when it is posted (unconfigured: ``skipped``)."""
    if kind not in SLACK_KINDS:
        return False
    stmt = (
        insert(SlackPost)
        .values(
            id=uuid.uuid4(),
            kind=kind,
            dedupe_key=dedupe_key[:150],
            title=title[:200],
            body=body[:1000],
            link=link,
            status="pending",
            attempts=0,
            next_attempt_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(SlackPost.id)
    )
    queued = (await session.execute(stmt)).scalar_one_or_none() is not None
    if queued:
        await live.notify(session, SLACK_CHANNEL, {"queued": kind})
    return queued


async def purge(session: AsyncSession, *, before: datetime) -> int:
    """Delete posts done (sent, skipped, failed) before ``before``."""
    result = await session.execute(
        delete(SlackPost)
        .where(SlackPost.status != "pending", SlackPost.created_at < before)
        .returning(SlackPost.id)
    )
    return len(result.all())


def blocks(post: SlackPost) -> dict[str, Any]:
    """The Slack message: ``text`` (notifications and fallback) and Block Kit sections (mrkdwn)."""
    text = f"{post.title}\n{post.body}".strip()
    sections: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": post.title[:150], "emoji": True}},
    ]
    if post.body:
        sections.append({"type": "section", "text": {"type": "mrkdwn", "text": _escape(post.body)[:3000]}})
    context = f"`{post.kind}`"
    if post.link:
        context += f" · <{post.link}|Abrir en AINTECH>"
    sections.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return {"text": text[:3000], "blocks": sections}


def _escape(text: str) -> str:
    """Slack's three control characters, so an alert's text cannot inject a mention or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackError(Exception):
    """A failed post: ``transient`` ones are retried; ``retry_after`` is Slack's 429 wait, if any."""

    def __init__(self, detail: str, *, transient: bool, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.transient = transient
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


async def post_once(client: httpx.AsyncClient, url: str, payload: dict[str, Any]) -> None:
    """One POST to the incoming webhook; raises SlackError (never with the URL in it)."""
    try:
        response = await client.post(url, json=payload)
    except httpx.HTTPError as exc:
        raise SlackError(f"Slack unreachable: {type(exc).__name__}", transient=True) from None
    if response.status_code == 200:
        return
    detail = f"Slack answered {response.status_code}: {response.text[:100]}"
    if response.status_code == 429:
        raise SlackError(detail, transient=True, retry_after=_retry_after(response))
    raise SlackError(detail, transient=response.status_code >= 500 or response.status_code == 408)


@dataclass(frozen=True)
class _Claimed:
    id: uuid.UUID
    kind: str
    attempts: int
    payload: dict[str, Any]


class SlackPoster:
    """The worker loop posting queued staff alerts to Slack (also ``post_due`` once, for tests)."""

    def __init__(self, db: Database, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self.db = db
        self.settings = settings
        self.health = LoopHealth("slack")
        self._client = client or httpx.AsyncClient(timeout=settings.slack_timeout_seconds)
        self._owns_client = client is None
        self._wakeup = asyncio.Event()
        self.channel = SLACK_CHANNEL  # the NOTIFY channel it listens on
        self.listening = asyncio.Event()  # set while its LISTEN is in place (tests wait on it)

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def post_due(self) -> int:
        """Post every due alert once round; returns how many were claimed."""
        claimed = await self._claim()
        if claimed:
            outcomes = await asyncio.gather(*(self._deliver(post) for post in claimed))
            await self._record(list(zip(claimed, outcomes, strict=True)))
        return len(claimed)

    async def _claim(self) -> Sequence[_Claimed]:
        async with self.db.transaction() as session:
            rows = (
                await session.scalars(
                    select(SlackPost)
                    .where(SlackPost.status == "pending", SlackPost.next_attempt_at <= utcnow())
                    .order_by(SlackPost.next_attempt_at)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            claimed = []
            for row in rows:
                row.attempts += 1
                row.next_attempt_at = utcnow() + LEASE
                claimed.append(_Claimed(row.id, row.kind, row.attempts, blocks(row)))
        return claimed

    def _wait(self, state: RetryCallState) -> float:
        """Slack's Retry-After when it sent one, else exponential backoff with jitter."""
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, SlackError) and error.retry_after is not None:
            return error.retry_after
        backoff = wait_exponential_jitter(
            multiplier=self.settings.slack_retry_base_seconds,
            max=60.0,
            jitter=self.settings.slack_retry_base_seconds,
        )
        return float(backoff(state))

    async def _deliver(self, post: _Claimed) -> SlackError | None:
        secret = self.settings.slack_webhook_urls.get(post.kind)
        if secret is None:
            return None
        url = secret.get_secret_value()

        def retryable(error: BaseException) -> bool:
            if not isinstance(error, SlackError) or not error.transient:
                return False
            return error.retry_after is None or error.retry_after <= MAX_INLINE_RETRY_AFTER

        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.settings.slack_attempts_per_round),
                wait=self._wait,
                retry=retry_if_exception(retryable),
                reraise=True,
            ):
                with attempt:
                    await post_once(self._client, url, post.payload)
        except SlackError as exc:
            return exc
        return None

    async def _record(self, results: list[tuple[_Claimed, SlackError | None]]) -> None:
        async with self.db.transaction() as session:
            for post, error in results:
                values: dict[str, Any]
                if error is None and post.kind not in self.settings.slack_webhook_urls:
                    values = {"status": "skipped", "last_error": None}
                    POSTED.labels(post.kind, "skipped").inc()
                elif error is None:
                    values = {"status": "sent", "sent_at": utcnow(), "last_error": None}
                    POSTED.labels(post.kind, "sent").inc()
                elif error.transient and post.attempts < self.settings.slack_max_rounds:
                    delay = error.retry_after or min(60.0 * 2 ** (post.attempts - 1), 3600.0)
                    values = {
                        "next_attempt_at": utcnow() + timedelta(seconds=delay),
                        "last_error": str(error)[:300],
                    }
                    POSTED.labels(post.kind, "retry").inc()
                else:
                    values = {"status": "failed", "last_error": str(error)[:300]}
                    POSTED.labels(post.kind, "failed").inc()
                if error is not None:
                    log.warning(
                        "slack_post_failed", post_id=str(post.id), kind=post.kind, error=str(error)[:200]
                    )
                await session.execute(update(SlackPost).where(SlackPost.id == post.id).values(**values))

    async def seconds_until_due(self) -> float | None:
        """Seconds until the earliest pending post is due (0: now; None: nothing pending)."""
        async with self.db.transaction() as session:
            due = await session.scalar(
                select(func.min(SlackPost.next_attempt_at)).where(SlackPost.status == "pending")
            )
        return None if due is None else max(0.0, (due - utcnow()).total_seconds())

    async def run(self, stop: asyncio.Event) -> None:
        """Post due alerts until ``stop``, woken by the NOTIFY of a queued post or at the earliest
        post's due time (at most ``dispatch_safety_poll_seconds``); Slack or database trouble is
        waited out."""
        listener = live.Listener(
            self.db, self.channel, on_message=lambda _message: self._wakeup.set(), on_gap=self._wakeup.set
        )
        self.listening = listener.listening
        await listener.start(wait=1.0)
        try:
            await self._run(stop)
        finally:
            await listener.stop()

    async def _run(self, stop: asyncio.Event) -> None:
        backoff = 1.0
        safety = self.settings.dispatch_safety_poll_seconds
        while not stop.is_set():
            try:
                self._wakeup.clear()
                claimed = await self.post_due()
                due = await self.seconds_until_due() if claimed < BATCH else 0.0
                self.health.progress()
                backoff = 1.0
            except Exception as exc:
                self.health.failed(type(exc).__name__)
                log.exception("slack_poster_failed")
                await sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if claimed < BATCH:
                await self._idle(stop, safety if due is None else min(safety, max(1.0, due)))

    async def _idle(self, stop: asyncio.Event, wait: float) -> None:
        await wait_first(self._wakeup, stop, within=wait)
