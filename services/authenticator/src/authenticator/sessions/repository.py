"""Queries on login sessions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authenticator.sessions.models import Session
from authenticator.users.models import User


async def get(session: AsyncSession, session_id: uuid.UUID, *, for_update: bool = False) -> Session | None:
    query = select(Session).where(Session.id == session_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


# Built once: read on every authenticated request of this service.
_SESSION_WITH_USER = (
    select(Session, User)
    .join(User, User.id == Session.user_id)
    .where(Session.id == bindparam("session_id"), User.id == bindparam("user_id"))
)


async def get_with_user(
    session: AsyncSession, *, session_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[Session, User] | None:
    """The login session and its user in one query; None unless the session belongs to that user."""
    found = (
        await session.execute(_SESSION_WITH_USER, {"session_id": session_id, "user_id": user_id})
    ).first()
    return None if found is None else (found[0], found[1])


async def add(session: AsyncSession, row: Session) -> None:
    session.add(row)
    await session.flush()


async def active_for_user(session: AsyncSession, *, user_id: uuid.UUID, now: datetime) -> Sequence[Session]:
    return (
        await session.scalars(
            select(Session)
            .where(Session.user_id == user_id, Session.revoked_at.is_(None), Session.expires_at > now)
            .order_by(Session.last_activity_at.desc())
        )
    ).all()


async def seen_before(
    session: AsyncSession, *, user_id: uuid.UUID, ip: str | None, device: str | None
) -> bool:
    """Whether the user has signed in before from this IP address or this kind of device."""
    query = select(Session.id).where(Session.user_id == user_id).limit(1)
    if ip is not None:
        found = (await session.scalars(query.where(Session.ip == ip))).first()
        if found is not None:
            return True
    if device is not None:
        found = (await session.scalars(query.where(Session.device == device))).first()
        if found is not None:
            return True
    return False


async def signed_in_from(session: AsyncSession, *, user_id: uuid.UUID, ip: str, device: str | None) -> bool:
    """Whether the user has signed in before from this address with this kind of device."""
    query = select(Session.id).where(Session.user_id == user_id, Session.ip == ip)
    query = query.where(Session.device.is_(None) if device is None else Session.device == device)
    return (await session.scalars(query.limit(1))).first() is not None


async def has_any(session: AsyncSession, *, user_id: uuid.UUID) -> bool:
    return (
        await session.scalars(select(Session.id).where(Session.user_id == user_id).limit(1))
    ).first() is not None


async def revoke(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    reason: str,
    now: datetime,
    session_ids: Sequence[uuid.UUID] | None = None,
    keep: uuid.UUID | None = None,
) -> list[tuple[uuid.UUID, datetime]]:
    """Revoke the user's active sessions (all, or ``session_ids``); returns each revoked session's
    id and when its last access token was issued."""
    query = update(Session).where(Session.user_id == user_id, Session.revoked_at.is_(None))
    if session_ids is not None:
        query = query.where(Session.id.in_(session_ids))
    if keep is not None:
        query = query.where(Session.id != keep)
    result = await session.execute(
        query.values(revoked_at=now, revoked_reason=reason).returning(Session.id, Session.last_activity_at)
    )
    return [(row[0], row[1]) for row in result.all()]


async def delete_stale(session: AsyncSession, *, before: datetime) -> int:
    result = await session.execute(delete(Session).where(Session.expires_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
