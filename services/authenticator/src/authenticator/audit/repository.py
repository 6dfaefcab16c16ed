"""Queries on the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.pagination import newest_first
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
    after: list[Any] | None,
    limit: int,
) -> tuple[list[AuditLog], list[Any] | None]:
    """One page of audit rows matching the filters, newest first (keyset: occurred_at, id)."""
    where = _conditions(user_id=user_id, actor_id=actor_id, actions=actions, since=since, until=until)
    return await newest_first(
        session,
        AuditLog,
        at=AuditLog.occurred_at,
        id_=AuditLog.id,
        conditions=where,
        after=after,
        limit=limit,
    )
