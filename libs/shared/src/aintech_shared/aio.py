"""Asyncio helpers shared by the long-running loops: stop-aware sleeps and the one retry policy.

Every retry in the relay, the consumers and the scheduler goes through :func:`retrying`
(tenacity's ``AsyncRetrying``): capped exponential backoff with jitter, whose sleeps wake as
soon as the worker is told to stop, so a failing batch or an outage never outlasts shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_base,
    retry_if_exception_type,
    stop_after_attempt,
    stop_when_event_set,
    wait_exponential,
    wait_random_exponential,
)
from tenacity.stop import stop_base

T = TypeVar("T")


class Stopped(Exception):
    """The worker is stopping: raised out of a retry's sleep so no further attempt is made."""


async def wait_first(*events: asyncio.Event, within: float | None = None) -> None:
    """Wait until any of ``events`` is set, or ``within`` seconds (``None``: no limit)."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds`` or until ``stop`` is set, whichever comes first."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass


def backoff(*, initial: float = 0.2, maximum: float = 30.0) -> wait_exponential:
    """Capped exponential backoff with "equal jitter": half of each wait fixed, half random.

    The n-th wait lies in [initial·2ⁿ⁻¹/2, initial·2ⁿ⁻¹], never above ``maximum``, so replicas
    that failed together do not retry in lock-step, and none spins.
    """
    half_initial, half_max = initial / 2, maximum / 2
    return wait_exponential(multiplier=half_initial, max=half_max) + wait_random_exponential(  # type: ignore[return-value]
        multiplier=half_initial, max=half_max
    )


def retrying(
    stop: asyncio.Event,
    *,
    attempts: int | None = None,
    initial: float = 0.2,
    maximum: float = 30.0,
    retry: retry_base | None = None,
    on_retry: Callable[[RetryCallState], None] | None = None,
    wait: Callable[[float], Awaitable[None]] | None = None,
) -> AsyncRetrying:
    """The platform's retry policy: ``AsyncRetrying`` with jittered backoff and stop-aware sleeps.

    Retries every exception (or those ``retry`` selects) up to ``attempts`` (forever when None),
    re-raising the last error when attempts run out. When ``stop`` is set, the pending sleep
    ends at once and :class:`Stopped` is raised instead of another attempt. ``wait`` replaces the
    plain sleep between attempts with work that must go on meanwhile (a consumer keeps polling
    Kafka so the group does not drop it); it must return early when ``stop`` is set.
    """

    async def sleep(seconds: float) -> None:
        if wait is None:
            await sleep_or_stop(stop, seconds)
        else:
            await wait(seconds)
        if stop.is_set():
            raise Stopped

    stop_rule: stop_base = stop_when_event_set(stop)  # type: ignore[arg-type]
    if attempts is not None:
        stop_rule = stop_rule | stop_after_attempt(attempts)
    return AsyncRetrying(
        sleep=sleep,
        stop=stop_rule,
        wait=backoff(initial=initial, maximum=maximum),
        retry=retry or retry_if_exception_type(Exception),
        before_sleep=on_retry,
        reraise=True,
    )


async def run_until_stopped(stop: asyncio.Event, work: Coroutine[Any, Any, T]) -> T:
    """Await ``work`` unless ``stop`` is set first; then cancel it and raise :class:`Stopped`.

    For steps that may block on an unreachable server (a Kafka send waiting for metadata, a
    query on a dead connection): shutdown does not wait for their own timeouts.
    """
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task.done():
        return task.result()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    raise Stopped
