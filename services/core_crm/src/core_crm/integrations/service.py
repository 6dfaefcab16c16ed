"""Outbound webhooks: subscriptions (admins), the fan-out of events into deliveries (worker), the
sending of due deliveries with Standard Webhooks signatures and retries, replays.

A CRM change never waits for a subscriber: its event leaves through the outbox, the
``core-crm.integrations`` consumer turns it into one delivery row per subscription, and the job
``crm.integrations.deliver`` sends due deliveries outside any transaction (docs/crm.md)."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import random
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook

from aintech_contracts.envelope import CloudEvent
from aintech_shared.errors import NotFound, UnprocessableEntity
from core_crm.core.base import utcnow
from core_crm.core.runtime import Runtime
from core_crm.core.transactions import Transactions
from core_crm.integrations import repository
from core_crm.integrations.catalog import WEBHOOK_EVENTS
from core_crm.integrations.models import WebhookDelivery, WebhookSubscription
from core_crm.tasks import service as tasks
from core_crm.workflows import webhook

log = structlog.get_logger("crm.integrations")

MAX_REPLAY = 1000
LEASE_MARGIN = timedelta(seconds=30)
ATTEMPT_LOG_LIMIT = 50


def new_secret() -> str:
    """A Standard Webhooks signing secret (``whsec_`` + base64 of 24 random bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def signed_headers(secret: str, message_id: str, body: bytes, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt (``webhook-signature`` is ``v1,<base64 HMAC>``)."""
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
        "user-agent": "AINTECH-CRM-Webhooks/1",
    }


def _field(field: str, message: str) -> UnprocessableEntity:
    return UnprocessableEntity(
        f"{field}: {message}",
        errors=[{"location": "body", "field": field, "message": message, "type": "value_error"}],
    )


INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".intranet", ".corp")


def check_target(url: str, *, allowlist: list[str]) -> None:
    """422 unless ``url`` is an http(s) URL without credentials whose host is not an internal one: a
    literal address must be public (the workflow webhooks' rules: no private, loopback, link-local,
    shared, reserved or IPv4-embedding address unless allow-listed), and a name must not be a local
    one (`localhost`, single-label, `.local`, `.internal`…). No DNS query is made here; every
    delivery resolves the name and checks every address again before it connects (pinned)."""
    try:
        host, _ = webhook.check_url(url)
    except webhook.WebhookRefused as exc:
        raise _field("url", str(exc)) from exc
    name = host.strip("[]").lower().rstrip(".")
    try:
        literal: webhook.IPAddress | None = ipaddress.ip_address(name)
    except ValueError:
        literal = None
    allowed = name in allowlist or (literal is not None and webhook.allowed(literal, name, allowlist))
    if allowed:
        return
    if literal is not None:
        if not webhook.is_public(literal):
            raise _field("url", f"{host} is a private or reserved address (or embeds one)")
        return
    if name == "localhost" or "." not in name or name.endswith(INTERNAL_SUFFIXES):
        raise _field("url", f"{host} is an internal host name")


def check_event_types(event_types: list[str]) -> list[str]:
    """The requested types, de-duplicated; 422 naming any that may not be subscribed to."""
    unknown = sorted({t for t in event_types if t not in WEBHOOK_EVENTS})
    if unknown:
        raise _field("event_types", "unknown event type(s): " + ", ".join(unknown))
    return sorted(set(event_types))


async def create_subscription(
    session: AsyncSession,
    *,
    rt: Runtime,
    url: str,
    event_types: list[str],
    description: str | None,
    created_by: uuid.UUID | None,
) -> WebhookSubscription:
    """Subscribe ``url`` to ``event_types`` (checked before anything is stored)."""
    types = check_event_types(event_types)
    check_target(url, allowlist=rt.settings.webhook_allowlist)
    row = WebhookSubscription(
        url=url,
        event_types=types,
        description=description,
        secret=new_secret(),
        created_by=created_by,
    )
    await repository.add(session, row)
    return row


async def get_subscription(
    session: AsyncSession, *, subscription_id: uuid.UUID, for_update: bool = False
) -> WebhookSubscription:
    row = await repository.subscription(session, subscription_id, for_update=for_update)
    if row is None:
        raise NotFound("No such webhook subscription.")
    return row


async def update_subscription(
    session: AsyncSession, *, rt: Runtime, subscription_id: uuid.UUID, changes: dict[str, Any]
) -> WebhookSubscription:
    """Change URL, event types, description or on/off; switching on clears the disabling notice."""
    row = await get_subscription(session, subscription_id=subscription_id, for_update=True)
    if "event_types" in changes:
        changes["event_types"] = check_event_types(changes["event_types"])
    if "url" in changes:
        check_target(changes["url"], allowlist=rt.settings.webhook_allowlist)
    for key, value in changes.items():
        setattr(row, key, value)
    if changes.get("active") is True:
        row.disabled_at, row.disabled_reason = None, None
    elif changes.get("active") is False and row.disabled_at is None:
        row.disabled_at, row.disabled_reason = utcnow(), "switched off by an administrator"
    row.updated_at = utcnow()
    await repository.flush(session)
    if changes.get("active") is True:
        await repository.wake_worker(session)  # its waiting deliveries are claimable again
    return row


async def delete_subscription(session: AsyncSession, *, subscription_id: uuid.UUID) -> None:
    await repository.delete(session, await get_subscription(session, subscription_id=subscription_id))


# --- fan-out (consumer) -------------------------------------------------------------------------


def _payload(event: CloudEvent) -> dict[str, Any]:
    return {
        "type": event.type,
        "timestamp": event.time.isoformat(),
        "event_id": event.id,
        "data": event.data,
    }


async def fan_out(session: AsyncSession, *, event: CloudEvent) -> int:
    """One pending delivery per active subscription to the event's type (once per event)."""
    if event.type not in WEBHOOK_EVENTS:
        return 0
    created = 0
    for sub in await repository.subscribed(session, event.type):
        created += await repository.add_delivery_once(
            session,
            {
                "id": uuid.uuid4(),
                "subscription_id": sub.id,
                "message_id": f"msg_{uuid.uuid4().hex}",
                "event_id": event.id,
                "event_type": event.type,
                "payload": _payload(event),
                "status": "pending",
                "next_attempt_at": utcnow(),
            },
        )
    if created:
        await repository.wake_worker(session)
    return created


# --- sending (job) --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    delivery_id: uuid.UUID
    url: str
    secret: str
    message_id: str
    body: bytes


def backoff(attempt: int, *, base: float, maximum: float, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with jitter: ``base × 2^(attempt−1)`` capped at ``maximum``, then a
    random point between half and all of it (so failing subscribers are not retried in lockstep)."""
    ceiling = min(maximum, base * 2 ** max(0, attempt - 1))
    return timedelta(seconds=ceiling * (0.5 + 0.5 * (rng or random).random()))


async def deliver_due(tx: Transactions, *, rt: Runtime, now: datetime | None = None) -> int:
    """Send the due deliveries: claimed (with a lease) and committed first, then sent concurrently
    outside any transaction, each outcome recorded in its own transaction. Returns how many were sent."""
    now = now or utcnow()
    settings = rt.settings
    lease = timedelta(seconds=settings.webhook_timeout_seconds) + LEASE_MARGIN
    claimed: list[Attempt] = []
    async with tx.transaction() as session:
        for delivery, sub in await repository.claim_due(
            session, now=now, limit=settings.integration_batch_size
        ):
            delivery.next_attempt_at = now + lease  # a worker that dies mid-call: retried after the lease
            claimed.append(
                Attempt(
                    delivery_id=delivery.id,
                    url=sub.url,
                    secret=sub.secret,
                    message_id=delivery.message_id,
                    body=orjson.dumps(delivery.payload),
                )
            )
        await repository.flush(session)

    async def one(attempt: Attempt) -> None:
        sent_at = utcnow()
        status: int | None = None
        error: str | None = None
        try:
            result = await webhook.call(
                attempt.url,
                method="POST",
                headers=signed_headers(attempt.secret, attempt.message_id, attempt.body, sent_at),
                body=None,
                raw=attempt.body,
                timeout_seconds=settings.webhook_timeout_seconds,
                max_bytes=4096,
                allowlist=settings.webhook_allowlist,
            )
            status = result.status
        except webhook.WebhookFailed as exc:
            status, error = exc.status, str(exc)
        except webhook.WebhookRefused as exc:
            error = f"refused: {exc}"
        async with tx.transaction() as session:
            await _record(
                session,
                rt=rt,
                delivery_id=attempt.delivery_id,
                now=now,
                sent_at=sent_at,
                status=status,
                error=error,
            )

    await asyncio.gather(*(one(a) for a in claimed))
    return len(claimed)


async def _record(
    session: AsyncSession,
    *,
    rt: Runtime,
    delivery_id: uuid.UUID,
    now: datetime,
    sent_at: datetime,
    status: int | None,
    error: str | None,
) -> None:
    delivery = await repository.delivery(session, delivery_id, for_update=True)
    if delivery is None or delivery.status not in ("pending", "retrying"):
        return
    settings = rt.settings
    delivery.attempt_count += 1
    entry = {"at": sent_at.isoformat(), "status_code": status, "error": error[:300] if error else None}
    delivery.attempts = [*delivery.attempts, entry][-ATTEMPT_LOG_LIMIT:]
    delivery.last_status_code = status
    delivery.last_error = error[:500] if error else None
    if error is None:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "succeeded", sent_at, None
        await repository.flush(session)
        return
    if now - delivery.created_at >= timedelta(hours=settings.integration_retry_hours):
        delivery.status, delivery.next_attempt_at = "failed", None
        await repository.flush(session)
        await _disable(session, rt=rt, subscription_id=delivery.subscription_id, delivery=delivery)
        return
    delivery.status = "retrying"
    delivery.next_attempt_at = now + backoff(
        delivery.attempt_count,
        base=settings.integration_backoff_base_seconds,
        maximum=settings.integration_backoff_max_seconds,
    )
    await repository.flush(session)


async def _disable(
    session: AsyncSession, *, rt: Runtime, subscription_id: uuid.UUID, delivery: WebhookDelivery
) -> None:
    """Switch a subscription off after a delivery failed for the whole retry window, and tell its admin."""
    sub = await repository.subscription(session, subscription_id, for_update=True)
    if sub is None or not sub.active:
        return
    hours = rt.settings.integration_retry_hours
    reason = (
        f"delivery {delivery.id} ({delivery.event_type}) failed for {hours:g} h: "
        f"{delivery.last_error or 'no answer'}"
    )[:500]
    sub.active, sub.disabled_at, sub.disabled_reason, sub.updated_at = False, utcnow(), reason, utcnow()
    await repository.flush(session)
    log.warning("webhook_subscription_disabled", subscription_id=str(sub.id), url=sub.url, reason=reason)
    await tasks.create_task(
        session,
        rt=rt,
        title="Webhook desactivado",
        description=f"The webhook subscription to {sub.url} was switched off: {reason}. Fix the receiver, "
        "switch it on again (PATCH active=true) and replay the failed deliveries.",
        task_type="integration",
        priority="high",
        created_by=None,
        assigned_to=sub.created_by,
        dedupe_key=f"webhook-disabled:{sub.id}:{delivery.id}",
    )


# --- replay ---------------------------------------------------------------------------------------


def _replay_of(original: WebhookDelivery) -> WebhookDelivery:
    return WebhookDelivery(
        subscription_id=original.subscription_id,
        message_id=original.message_id,
        event_id=original.event_id,
        event_type=original.event_type,
        payload=original.payload,
        status="pending",
        next_attempt_at=utcnow(),
        replay_of=original.id,
        attempts=[],
        attempt_count=0,
    )


async def replay_one(
    session: AsyncSession, *, subscription_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Send a delivery again (same ``webhook-id``, so the receiver can recognise a repeat)."""
    await get_subscription(session, subscription_id=subscription_id)
    original = await repository.delivery(session, delivery_id)
    if original is None or original.subscription_id != subscription_id:
        raise NotFound("No such delivery for this subscription.")
    replay = _replay_of(original)
    await repository.add(session, replay)
    await repository.wake_worker(session)
    return replay


async def replay_range(
    session: AsyncSession, *, subscription_id: uuid.UUID, since: datetime, until: datetime, only_failed: bool
) -> int:
    """Send again every delivery (originals) made in [since, until); at most 1,000 at once (422 beyond)."""
    if until <= since:
        raise _field("until", "must be after since")
    await get_subscription(session, subscription_id=subscription_id)
    rows = await repository.originals_between(
        session, subscription_id=subscription_id, since=since, until=until, limit=MAX_REPLAY + 1
    )
    if len(rows) > MAX_REPLAY:
        raise _field("until", f"more than {MAX_REPLAY} deliveries in the range; replay a shorter one")
    count = 0
    for original in rows:
        if only_failed and original.status != "failed":
            continue
        await repository.add(session, _replay_of(original))
        count += 1
    if count:
        await repository.wake_worker(session)
    return count


async def deliveries(
    session: AsyncSession,
    *,
    subscription_id: uuid.UUID,
    status: str | None,
    after: list[Any] | None,
    limit: int,
) -> tuple[list[WebhookDelivery], list[Any] | None]:
    await get_subscription(session, subscription_id=subscription_id)
    return await repository.deliveries(
        session, subscription_id=subscription_id, status=status, after=after, limit=limit
    )


async def subscriptions(
    session: AsyncSession, *, after: list[Any] | None, limit: int
) -> tuple[list[WebhookSubscription], list[Any] | None]:
    return await repository.subscriptions(session, after=after, limit=limit)
