"""Fixed-window counters in Postgres, shared by every replica: sending costs money."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.errors import TooManyRequests

_HIT = text(
    "INSERT INTO rate_counters (key, window_start, count) VALUES (:key, :window, 1) "
    "ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1 "
    "RETURNING count"
)


async def hit(session: AsyncSession, *, key: str, limit: int, window: timedelta, what: str) -> None:
    """Count one use of ``key`` in the current window; 429 (with Retry-After) beyond ``limit``.

    The increment belongs to the caller's transaction, so a refused or failed request does not
    use up the allowance.
    """
    now = datetime.now(UTC)
    seconds = int(window.total_seconds())
    start = datetime.fromtimestamp(math.floor(now.timestamp() / seconds) * seconds, UTC)
    count = (await session.execute(_HIT, {"key": key[:400], "window": start})).scalar_one()
    if count > limit:
        retry = max(1, int((start + window - now).total_seconds()) + 1)
        raise TooManyRequests(
            f"Too many {what}: at most {limit} per {_human(window)}. Try again in {retry} s.",
            headers={"Retry-After": str(retry)},
        )


async def purge(session: AsyncSession, *, before: datetime) -> None:
    """Drop windows that ended before ``before``."""
    await session.execute(text("DELETE FROM rate_counters WHERE window_start < :before"), {"before": before})


def _human(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    if seconds % 3600 == 0:
        return "hour" if seconds == 3600 else f"{seconds // 3600} hours"
    if seconds % 60 == 0:
        return "minute" if seconds == 60 else f"{seconds // 60} minutes"
    return f"{seconds} s"
