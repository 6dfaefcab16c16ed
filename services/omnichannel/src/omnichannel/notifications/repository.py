"""Queries on notifications and preferences."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.pagination import newest_first
from omnichannel.core.base import utcnow
from omnichannel.notifications.models import Notification, NotificationPreference


async def insert_once(session: AsyncSession, values: dict[str, Any]) -> Notification | None:
    """Insert unless a notification for the same source event exists; the new row or None."""
    stmt = insert(Notification).values(**values)
    if values.get("source_event_id"):
        stmt = stmt.on_conflict_do_nothing(index_elements=["source_event_id"])
    new_id = (await session.execute(stmt.returning(Notification.id))).scalar_one_or_none()
    return await session.get(Notification, new_id) if new_id is not None else None


async def for_user(
    session: AsyncSession, user_id: uuid.UUID, *, unread_only: bool, after: list[Any] | None, limit: int
) -> tuple[list[Notification], list[Any] | None]:
    """A user's notifications, newest first (keyset: created_at, id)."""
    conditions = [Notification.user_id == user_id]
    if unread_only:
        conditions.append(Notification.read_at.is_(None))
    return await newest_first(
        session,
        Notification,
        at=Notification.created_at,
        id_=Notification.id,
        conditions=conditions,
        after=after,
        limit=limit,
    )


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


async def mark_read(
    session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID
) -> Notification | None:
    note = await session.get(Notification, notification_id)
    if note is None or note.user_id != user_id:
        return None
    if note.read_at is None:
        note.read_at = utcnow()
        await session.flush()
    return note


async def mark_all_read(session: AsyncSession, user_id: uuid.UUID) -> int:
    result = await session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .returning(Notification.id)
    )
    return len(result.all())


async def preferences(session: AsyncSession, user_id: uuid.UUID) -> Sequence[NotificationPreference]:
    return (
        await session.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user_id))
    ).all()


async def preference(session: AsyncSession, user_id: uuid.UUID, kind: str) -> NotificationPreference | None:
    return await session.get(NotificationPreference, (user_id, kind))


async def set_preference(session: AsyncSession, values: dict[str, Any]) -> None:
    stmt = insert(NotificationPreference).values(**values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["user_id", "kind"],
            set_={k: stmt.excluded[k] for k in ("in_app", "email", "sms", "whatsapp")},
        )
    )
