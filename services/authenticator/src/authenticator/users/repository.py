"""Queries on users."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.pagination import newest_first
from authenticator.users.models import User


async def get(session: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
    query = select(User).where(User.id == user_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def by_email(session: AsyncSession, email: str, *, for_update: bool = False) -> User | None:
    query = select(User).where(User.email == email.lower())
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def add(session: AsyncSession, user: User) -> None:
    session.add(user)
    await session.flush()


async def lock_active_admins(session: AsyncSession) -> list[uuid.UUID]:
    """Lock every active administrator's row (in id order, so two callers cannot deadlock) and
    return their ids as committed by the time the locks are granted."""
    rows = await session.scalars(
        select(User.id)
        .where(User.role == "admin", User.status == "active")
        .order_by(User.id)
        .with_for_update()
    )
    return list(rows.all())


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search(
    session: AsyncSession,
    *,
    text: str | None,
    role: str | None,
    status: str | None,
    after: list[Any] | None,
    limit: int,
) -> tuple[list[User], list[Any] | None]:
    """One page of accounts matching the filters, newest first (keyset: created_at, id)."""
    conditions = []
    if text:
        pattern = f"%{_escape_like(text.lower())}%"
        conditions.append(
            or_(
                User.email.like(pattern, escape="\\"),
                func.lower(User.first_name).like(pattern, escape="\\"),
                func.lower(User.last_name).like(pattern, escape="\\"),
                func.lower(User.first_name + " " + User.last_name).like(pattern, escape="\\"),
            )
        )
    if role:
        conditions.append(User.role == role)
    if status:
        conditions.append(User.status == status)
    return await newest_first(
        session, User, at=User.created_at, id_=User.id, conditions=conditions, after=after, limit=limit
    )
