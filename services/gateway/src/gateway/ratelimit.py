"""Rate limits per client IP (anonymous calls) and per user (authenticated ones), by route class.

The window arithmetic is the `limits` library's sliding-window counter; budgets live in memory,
per gateway replica (see docs/security-edge.md for how that adds up with N replicas). Responses
carry the IETF draft headers ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``
(seconds) of the tightest budget the call was charged to; a refusal is 429 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import ipaddress
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from gateway.settings import Settings


class LoopMemoryStorage(MemoryStorage):
    """`limits`' in-process storage, with its expiry driven by the event loop.

    The stock storage starts a thread (``threading.Timer``) roughly every 10 ms under traffic to
    expire keys; inside one asyncio process that is pure overhead. Expired counters are already
    ignored on read, so this storage only drops them from memory in :meth:`sweep`, which the
    gateway calls every few seconds from its event loop.
    """

    STORAGE_SCHEME = ["gateway+memory"]

    def _MemoryStorage__schedule_expiry(self) -> None:  # the stock per-hit thread start
        return None

    def sweep(self) -> None:
        """Drop expired counters (called from the event loop)."""
        self._MemoryStorage__expire_events()  # type: ignore[attr-defined]

    def size(self) -> int:
        return len(self.storage)


# `limits` wraps a storage's methods to translate backend errors, once more for each subclass; an
# in-process dict raises none, so this storage calls the plain methods (a third of a hit's cost).
for _method in (
    "incr", "get", "get_expiry", "check", "reset", "clear",
    "acquire_entry", "get_moving_window",
    "acquire_sliding_window_entry", "get_sliding_window", "clear_sliding_window",
):  # fmt: skip
    setattr(LoopMemoryStorage, _method, inspect.unwrap(getattr(MemoryStorage, _method)))


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_after: int  # seconds until the budget that decided has room again

    def headers(self) -> list[tuple[bytes, bytes]]:
        out = [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(self.reset_after).encode()),
        ]
        if not self.allowed:
            out.append((b"retry-after", str(self.reset_after).encode()))
        return out


def client_key(ip: str) -> str:
    """The budget key of a client address: IPv6 clients share one budget per /64."""
    if ":" not in ip:
        return ip
    try:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    except ValueError:
        return ip


class EdgeRateLimiter:
    """Charges a call to its base budget (anonymous per IP, or per user) and its route class."""

    def __init__(self, settings: Settings) -> None:
        self.storage = LoopMemoryStorage()
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)
        self.items: dict[str, list[RateLimitItem]] = {
            name: parse_many(spec) for name, spec in settings.rate_limits.items()
        }
        self.sweep_interval = settings.rate_limit_sweep_interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._sweeper(), name="rate-limit-sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _sweeper(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval)
            self.storage.sweep()

    def charge(self, base: str, key: str, route_class: str | None) -> Verdict:
        """Charge one call; the verdict names the budget with least room left (or the one that refused)."""
        charged: list[tuple[RateLimitItem, str]] = []
        for name in (base,) if route_class is None else (base, route_class):
            for item in self.items[name]:
                if not self.strategy.hit(item, name, key):
                    return self._verdict(item, name, key, allowed=False)
                charged.append((item, name))
        verdicts = [self._verdict(item, name, key, allowed=True) for item, name in charged]
        return min(verdicts, key=lambda v: v.remaining) if len(verdicts) > 1 else verdicts[0]

    def _verdict(self, item: RateLimitItem, name: str, key: str, *, allowed: bool) -> Verdict:
        stats = self.strategy.get_window_stats(item, name, key)
        reset_after = max(1, math.ceil(stats.reset_time - time.time()))
        return Verdict(allowed=allowed, limit=item.amount, remaining=stats.remaining, reset_after=reset_after)
