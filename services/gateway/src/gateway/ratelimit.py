"""Rate limits per client IP (anonymous calls) and per user (authenticated ones), by route class.

The window arithmetic is the `limits` library's sliding-window counter (budgets parsed by `limits`,
the counters kept here, decision 0068); budgets live in memory,
per gateway replica (see docs/security-edge.md for how that adds up with N replicas). Responses
carry the IETF draft headers ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``
(seconds) of the tightest budget the call was charged to; a refusal is 429 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many

from gateway.settings import Settings


class SlidingWindows:
    """The sliding-window counter of `limits`, on one list per (budget, key) (decision 0068).

    The same arithmetic as `limits`' ``SlidingWindowCounterRateLimiter`` over its memory storage
    (a call is allowed while ``floor(previous × previous_ttl / expiry + current) + 1 <= limit``;
    the remaining budget and the reset time as its ``get_window_stats`` computes them), without
    its two storage reads, two key strings and ~85 function calls per charge. Each entry is
    ``[window index, previous count, current count, expiry]``; :meth:`sweep` drops the ones two
    windows old, from the event loop.
    """

    def __init__(self) -> None:
        self.counters: dict[tuple[str, int, str], list[int]] = {}

    def hit(self, slot: tuple[str, int, str], limit: int, expiry: int, now: float) -> Verdict:
        """Charge one call to ``slot`` if its budget allows; the verdict either way."""
        window = int(now / expiry)
        entry = self.counters.get(slot)
        if entry is None:
            entry = self.counters[slot] = [window, 0, 0, expiry]
        elif entry[0] != window:
            entry[1] = entry[2] if entry[0] == window - 1 else 0
            entry[2] = 0
            entry[0] = window
        previous = entry[1]
        current = entry[2]
        previous_ttl = (1 - (((now - expiry) / expiry) % 1)) * expiry if previous else 0.0
        allowed = math.floor(previous * previous_ttl / expiry + current) + 1 <= limit
        if allowed:
            current += 1
            entry[2] = current
        remaining = max(0, limit - math.floor(previous * previous_ttl / expiry + current))
        if not (previous or current):
            return Verdict(allowed=allowed, limit=limit, remaining=remaining, reset_after=1)
        reset_in = previous_ttl % (expiry / previous) if previous else math.inf
        if current:
            current_ttl = (1 - ((now / expiry) % 1)) * expiry + expiry
            reset_in = min(reset_in, current_ttl % expiry)
        return Verdict(
            allowed=allowed, limit=limit, remaining=remaining, reset_after=max(1, math.ceil(reset_in))
        )

    def sweep(self, now: float | None = None) -> None:
        """Drop counters that no longer weigh on any window (called from the event loop)."""
        current = time.time() if now is None else now
        stale = [slot for slot, e in self.counters.items() if int(current / e[3]) - e[0] >= 2]
        for slot in stale:
            del self.counters[slot]

    def size(self) -> int:
        return len(self.counters)


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
        self.storage = SlidingWindows()
        self.items: dict[str, list[RateLimitItem]] = {
            name: parse_many(spec) for name, spec in settings.rate_limits.items()
        }
        # (slot name, item index, limit, expiry in seconds) per budget, computed once
        self._budgets: dict[str, list[tuple[str, int, int, int]]] = {
            name: [(name, i, item.amount, item.get_expiry()) for i, item in enumerate(items)]
            for name, items in self.items.items()
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

    def charge(self, base: str, key: str, route_class: str | None, now: float | None = None) -> Verdict:
        """Charge one call; the verdict names the budget with least room left (or the one that refused)."""
        moment = time.time() if now is None else now
        hit = self.storage.hit
        tightest: Verdict | None = None
        for name in (base,) if route_class is None else (base, route_class):
            for slot_name, index, limit, expiry in self._budgets[name]:
                verdict = hit((slot_name, index, key), limit, expiry, moment)
                if not verdict.allowed:
                    return verdict
                if tightest is None or verdict.remaining < tightest.remaining:
                    tightest = verdict
        assert tightest is not None, "every budget has at least one limit"
        return tightest
