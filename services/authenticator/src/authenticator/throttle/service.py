"""Throttling of guesses and of the flows that send e-mail.

Failed sign-ins (and wrong passwords or codes inside a session) count against three keys:

* the account *and* the client address (``account_ip``): the guesser is slowed, then locked out,
  while the owner signing in from elsewhere is not;
* the account from anywhere (``account``): a brake, set far higher, on guessing spread over many
  addresses; devices that signed in to the account before are exempt from it;
* the client address across accounts (``ip``): password spraying.

Accounts are keyed by a digest of the e-mail whether or not the account exists, so throttling
reveals nothing. After the free attempts each further one waits a growing delay; at the lockout
threshold the key is locked for a while.

E-mail flows (sign-up, password reset) are limited per client address and per address with
fixed-window counters.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.errors import TooManyRequests
from aintech_shared.metrics import account_locked
from authenticator.core.request import ClientInfo
from authenticator.settings import Settings
from authenticator.throttle import repository

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Limits:
    free_attempts: int
    lockout_after: int


@dataclass(frozen=True)
class FailureOutcome:
    failures: int
    locked: bool
    retry_after: float | None


def _digest(value: str, size: int = 48) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:size]


def account_key(email: str) -> str:
    return "account:" + _digest(email)


def account_ip_prefix(email: str) -> str:
    return f"account_ip:{_digest(email, 32)}:"


def account_ip_key(email: str, client: ClientInfo) -> str:
    """The account together with the client's address (its user agent when the address is unknown)."""
    origin = client.ip or f"agent:{client.user_agent or ''}"
    return account_ip_prefix(email) + _digest(origin, 32)


def ip_key(ip: str | None) -> str | None:
    return f"ip:{ip}" if ip else None


def scope(key: str) -> str:
    """``account_ip``, ``account`` or ``ip``: what a key counts."""
    return key.split(":", 1)[0]


def sign_in_keys(email: str, client: ClientInfo) -> list[str]:
    """The keys a sign-in attempt counts against, the most specific first."""
    keys = [account_ip_key(email, client), account_key(email)]
    if ip := ip_key(client.ip):
        keys.append(ip)
    return keys


def in_session_keys(email: str, client: ClientInfo) -> tuple[list[str], list[str]]:
    """For a password or code checked inside a session: the keys it must be allowed by, and those a
    wrong one counts against. The device holds a session, so the account-wide brake does not stop
    it, but its failures feed the brake like any sign-in's."""
    pair = account_ip_key(email, client)
    return [pair], [pair, account_key(email)]


def limits_for(key: str, settings: Settings) -> Limits:
    kind = scope(key)
    if kind == "ip":
        return Limits(settings.login_free_attempts_per_ip, settings.login_lockout_after_per_ip)
    if kind == "account":
        return Limits(settings.login_free_attempts_per_account, settings.login_lockout_after_per_account)
    return Limits(settings.login_free_attempts_per_account_ip, settings.login_lockout_after_per_account_ip)


def too_many(seconds: int) -> TooManyRequests:
    return TooManyRequests(
        f"Too many failed attempts. Try again in {seconds} seconds.",
        headers={"Retry-After": str(seconds)},
        retry_after=seconds,
    )


async def retry_after(session: AsyncSession, *, keys: list[str], now: datetime) -> int | None:
    """Seconds the caller must wait before another attempt, or None when attempts are allowed."""
    wait = 0.0
    for row in await repository.get_many(session, keys):
        for until in (row.locked_until, row.next_allowed_at):
            if until is not None and until > now:
                wait = max(wait, (until - now).total_seconds())
    return math.ceil(wait) if wait > 0 else None


async def ensure_allowed(session: AsyncSession, *, keys: list[str], now: datetime) -> None:
    """Refuse with 429 (and ``Retry-After``) while any of ``keys`` is delayed or locked."""
    wait = await retry_after(session, keys=keys, now=now)
    if wait is not None:
        raise too_many(wait)


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


async def record_failures(
    session: AsyncSession, *, keys: list[str], settings: Settings, now: datetime
) -> list[str]:
    """Count one failed attempt against each key; returns the keys this attempt locked."""
    locked = []
    for key in keys:
        if (await record_failure(session, key=key, settings=settings, now=now)).locked:
            locked.append(key)
            account_locked(scope(key))
    return locked


async def record_success(session: AsyncSession, *, email: str, client: ClientInfo) -> None:
    """A successful sign-in clears the counter of this account from this address. The account-wide
    brake is left to expire, so the owner signing in does not hand a distributed guesser a fresh
    allowance."""
    await repository.clear(session, keys=[account_ip_key(email, client)])


async def forgive_account(session: AsyncSession, *, email: str) -> None:
    """Lift every sign-in delay and lockout on the account (a password reset proved the mailbox)."""
    await repository.clear(session, keys=[account_key(email)], prefix=account_ip_prefix(email))


def address_key(flow: str, email: str) -> str:
    return f"{flow}:address:{_digest(email)}"


def client_key(flow: str, client: ClientInfo) -> str | None:
    return f"{flow}:ip:{client.ip}" if client.ip else None


async def count_request(
    session: AsyncSession, *, key: str | None, limit: int, now: datetime, window: timedelta = HOUR
) -> int | None:
    """Count a request against ``key``; seconds until its window ends when it is over ``limit``."""
    if key is None:
        return None
    hits, started = await repository.hit(session, key=key, now=now, window=window)
    if hits <= limit:
        return None
    return max(1, math.ceil((started + window - now).total_seconds()))


async def limit_client(
    session: AsyncSession, *, flow: str, client: ClientInfo, limit: int, now: datetime
) -> None:
    """Refuse with 429 once this client address has used ``flow`` ``limit`` times this hour."""
    wait = await count_request(session, key=client_key(flow, client), limit=limit, now=now)
    if wait is not None:
        raise TooManyRequests(
            "Too many requests from your network; try again later.",
            headers={"Retry-After": str(wait)},
            retry_after=wait,
        )


async def within_address_limit(
    session: AsyncSession, *, flow: str, email: str, limit: int, now: datetime
) -> bool:
    """Count a request for ``email`` (known or not); False once it is over ``limit`` this hour.
    Callers answer as usual and send nothing, so the limit reveals nothing about the address."""
    return await count_request(session, key=address_key(flow, email), limit=limit, now=now) is None
