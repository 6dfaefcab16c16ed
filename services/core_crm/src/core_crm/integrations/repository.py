"""The queries of outbound webhooks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.pagination import newest_first
from core_crm.integrations.models import WebhookDelivery, WebhookSubscription


async def add(session: AsyncSession, row: WebhookSubscription | WebhookDelivery) -> None:
    session.add(row)
    await session.flush()


async def flush(session: AsyncSession) -> None:
    await session.flush()


async def delete(session: AsyncSession, row: WebhookSubscription) -> None:
    await session.delete(row)
    await session.flush()


async def subscription(
    session: AsyncSession, subscription_id: uuid.UUID, *, for_update: bool = False
) -> WebhookSubscription | None:
    return await session.get(WebhookSubscription, subscription_id, with_for_update=for_update or None)


async def subscriptions(
    session: AsyncSession, *, after: list[Any] | None, limit: int
) -> tuple[list[WebhookSubscription], list[Any] | None]:
    return await newest_first(
        session,
        WebhookSubscription,
        at=WebhookSubscription.created_at,
        id_=WebhookSubscription.id,
        conditions=[],
        after=after,
        limit=limit,
    )


async def subscribed(session: AsyncSession, event_type: str) -> Sequence[WebhookSubscription]:
    """The active subscriptions to ``event_type``."""
    query = select(WebhookSubscription).where(
        WebhookSubscription.active.is_(True), WebhookSubscription.event_types.contains([event_type])
    )
    return (await session.scalars(query)).all()


async def add_delivery_once(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert an original delivery unless the subscription already has one for that event."""
    table = cast(Table, WebhookDelivery.__table__)
    inserted = await session.execute(
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=["subscription_id", "event_id"], index_where=table.c.replay_of.is_(None)
        )
        .returning(table.c.id)
    )
    return inserted.first() is not None


async def delivery(
    session: AsyncSession, delivery_id: uuid.UUID, *, for_update: bool = False
) -> WebhookDelivery | None:
    return await session.get(WebhookDelivery, delivery_id, with_for_update=for_update or None)


async def deliveries(
    session: AsyncSession,
    *,
    subscription_id: uuid.UUID,
    status: str | None,
    after: list[Any] | None,
    limit: int,
) -> tuple[list[WebhookDelivery], list[Any] | None]:
    conditions = [WebhookDelivery.subscription_id == subscription_id]
    if status is not None:
        conditions.append(WebhookDelivery.status == status)
    return await newest_first(
        session,
        WebhookDelivery,
        at=WebhookDelivery.created_at,
        id_=WebhookDelivery.id,
        conditions=conditions,
        after=after,
        limit=limit,
    )


async def originals_between(
    session: AsyncSession, *, subscription_id: uuid.UUID, since: datetime, until: datetime, limit: int
) -> Sequence[WebhookDelivery]:
    query = (
        select(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.replay_of.is_(None),
            WebhookDelivery.created_at >= since,
            WebhookDelivery.created_at < until,
        )
        .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def claim_due(
    session: AsyncSession, *, now: datetime, limit: int
) -> Sequence[tuple[WebhookDelivery, WebhookSubscription]]:
    """Due deliveries of active subscriptions, locked (others skip them)."""
    query = (
        select(WebhookDelivery, WebhookSubscription)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(
            WebhookDelivery.status.in_(("pending", "retrying")),
            WebhookDelivery.next_attempt_at <= now,
            WebhookSubscription.active.is_(True),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )
    return [(d, s) for d, s in (await session.execute(query)).all()]


# The worker's ``crm.integrations.deliver`` job listens here: a commit that queues deliveries (an
# event fanned out, a replay) or switches a subscription back on wakes it at once (its period is
# only the safety poll).
WAKE_CHANNEL = "crm_integrations"


async def wake_worker(session: AsyncSession) -> None:
    """Wake the worker's delivery job when this transaction commits (a NOTIFY is delivered at commit)."""
    await session.execute(select(func.pg_notify(WAKE_CHANNEL, "")))


async def seconds_until_due(session: AsyncSession) -> float | None:
    """Seconds until the earliest delivery of an active subscription is due (0: now; None: none
    waiting): the job is next due then (a retry's backoff, a call's lease)."""
    seconds = await session.scalar(
        select(func.extract("epoch", func.min(WebhookDelivery.next_attempt_at) - func.clock_timestamp()))
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(WebhookDelivery.status.in_(("pending", "retrying")), WebhookSubscription.active.is_(True))
    )
    return None if seconds is None else max(0.0, float(seconds))
