"""Login throttling: growing delays after a few failures, then a temporary lockout.

Counters are kept per account (keyed by a digest of the e-mail, whether or not the account
exists, so throttling reveals nothing) and per client IP address, in Postgres so every replica
sees the same state.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from authenticator.settings import Settings
from authenticator.throttle import repository


@dataclass(frozen=True)
class Limits:
    free_attempts: int
    lockout_after: int


@dataclass(frozen=True)
class FailureOutcome:
    failures: int
    locked: bool
    retry_after: float | None


def account_key(email: str) -> str:
    return "account:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:48]


def ip_key(ip: str | None) -> str | None:
    return f"ip:{ip}" if ip else None


def limits_for(key: str, settings: Settings) -> Limits:
    if key.startswith("ip:"):
        return Limits(settings.login_free_attempts_per_ip, settings.login_lockout_after_per_ip)
    return Limits(settings.login_free_attempts_per_account, settings.login_lockout_after_per_account)


async def retry_after(session: AsyncSession, *, keys: list[str], now: datetime) -> int | None:
    """Seconds the caller must wait before another attempt, or None when attempts are allowed."""
    wait = 0.0
    for row in await repository.get_many(session, keys):
        for until in (row.locked_until, row.next_allowed_at):
            if until is not None and until > now:
                wait = max(wait, (until - now).total_seconds())
    return math.ceil(wait) if wait > 0 else None


async def record_failure(
    session: AsyncSession, *, key: str, settings: Settings, now: datetime
) -> FailureOutcome:
    """Count one failed attempt against ``key`` and set its next delay or lockout."""
    limits = limits_for(key, settings)
    row = await repository.lock_row(session, key=key, now=now)
    window = timedelta(seconds=settings.login_failure_window_seconds)
    expired_lock = row.locked_until is not None and row.locked_until <= now
    if row.failures == 0 or expired_lock or now - row.last_failure_at > window:
        row.failures = 0
        row.first_failure_at = now
        row.locked_until = None
        row.next_allowed_at = None
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= limits.lockout_after:
        row.locked_until = now + timedelta(seconds=settings.login_lockout_seconds)
        row.next_allowed_at = None
        await session.flush()
        return FailureOutcome(row.failures, True, float(settings.login_lockout_seconds))
    if row.failures >= limits.free_attempts:
        exponent = row.failures - limits.free_attempts
        delay = min(settings.login_delay_base_seconds * (2**exponent), settings.login_delay_max_seconds)
        row.next_allowed_at = now + timedelta(seconds=delay) if delay > 0 else None
        await session.flush()
        return FailureOutcome(row.failures, False, delay or None)
    await session.flush()
    return FailureOutcome(row.failures, False, None)


async def record_success(session: AsyncSession, *, email: str) -> None:
    """A successful sign-in clears the account's counter (the IP counter is left to expire)."""
    await repository.clear(session, key=account_key(email))
