"""Queries on failed sign-in counters and on the fixed-window request counters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import case, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from authenticator.throttle.models import LoginThrottle, RateLimit


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


async def clear(session: AsyncSession, *, keys: Sequence[str] = (), prefix: str | None = None) -> None:
    """Forget the counters of ``keys`` and of every key starting with ``prefix``."""
    conditions = [LoginThrottle.key.in_(keys)] if keys else []
    if prefix:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(LoginThrottle.key.like(escaped + "%", escape="\\"))
    for condition in conditions:
        await session.execute(delete(LoginThrottle).where(condition))


async def delete_idle(session: AsyncSession, *, before: datetime) -> int:
    result = await session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_failure_at < before,
            (LoginThrottle.locked_until.is_(None)) | (LoginThrottle.locked_until < before),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def hit(session: AsyncSession, *, key: str, now: datetime, window: timedelta) -> tuple[int, datetime]:
    """Count one request against ``key`` in its current window (a new window once the last one is
    over); returns the hits so far and when the window started. One statement, safe under races."""
    stale = RateLimit.window_started_at <= now - window
    statement = (
        insert(RateLimit)
        .values(key=key, window_started_at=now, hits=1)
        .on_conflict_do_update(
            index_elements=[RateLimit.key],
            set_={
                "hits": case((stale, 1), else_=RateLimit.hits + 1),
                "window_started_at": case((stale, now), else_=RateLimit.window_started_at),
            },
        )
        .returning(RateLimit.hits, RateLimit.window_started_at)
    )
    hits, started = (await session.execute(statement)).one()
    return int(hits), started


async def delete_old_windows(session: AsyncSession, *, before: datetime) -> int:
    result = await session.execute(delete(RateLimit).where(RateLimit.window_started_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
