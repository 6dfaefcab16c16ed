"""Queries on the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from authenticator.audit.models import AuditLog


async def add(session: AsyncSession, entry: AuditLog) -> None:
    session.add(entry)
    await session.flush()


def _conditions(
    *,
    user_id: uuid.UUID | None,
    actor_id: uuid.UUID | None,
    actions: Sequence[str],
    since: datetime | None,
    until: datetime | None,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if user_id is not None:
        conditions.append(AuditLog.user_id == user_id)
    if actor_id is not None:
        conditions.append(AuditLog.actor_id == actor_id)
    if actions:
        conditions.append(AuditLog.action.in_(actions))
    if since is not None:
        conditions.append(AuditLog.occurred_at >= since)
    if until is not None:
        conditions.append(AuditLog.occurred_at < until)
    return conditions


async def search(
    session: AsyncSession,
    *,
    user_id: uuid.UUID | None,
    actor_id: uuid.UUID | None,
    actions: Sequence[str],
    since: datetime | None,
    until: datetime | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[AuditLog], int]:
    where = _conditions(user_id=user_id, actor_id=actor_id, actions=actions, since=since, until=until)
    total = await session.scalar(select(func.count()).select_from(AuditLog).where(*where))
    rows = await session.scalars(
        select(AuditLog)
        .where(*where)
        .order_by(AuditLog.occurred_at.desc(), AuditLog.id)
        .offset(offset)
        .limit(limit)
    )
    return rows.all(), int(total or 0)
