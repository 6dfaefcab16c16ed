"""Queries on failed-login counters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from authenticator.throttle.models import LoginThrottle


async def get_many(session: AsyncSession, keys: Sequence[str]) -> Sequence[LoginThrottle]:
    return (await session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys)))).all()


async def lock_row(session: AsyncSession, *, key: str, now: datetime) -> LoginThrottle:
    """The counter row for ``key``, created when missing, locked for this transaction."""
    await session.execute(
        insert(LoginThrottle)
        .values(key=key, failures=0, first_failure_at=now, last_failure_at=now)
        .on_conflict_do_nothing(index_elements=[LoginThrottle.key])
    )
    row = (
        await session.scalars(
            select(LoginThrottle)
            .where(LoginThrottle.key == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()
    return row


async def clear(session: AsyncSession, *, key: str) -> None:
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))


async def delete_idle(session: AsyncSession, *, before: datetime) -> int:
    result = await session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_failure_at < before,
            (LoginThrottle.locked_until.is_(None)) | (LoginThrottle.locked_until < before),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
