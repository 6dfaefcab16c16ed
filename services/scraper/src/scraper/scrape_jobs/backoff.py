"""Retry delays: exponential with jitter, computed by tenacity's ``wait_exponential_jitter``.

The worker does not sleep through them: the delay becomes the job row's ``next_attempt_at``, so a
retry survives a restart and any worker may take it.
"""

from __future__ import annotations

from tenacity import RetryCallState, wait_exponential_jitter


def retry_delay(
    attempt: int, *, initial: float, maximum: float, jitter: float, at_least: float | None = None
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based); never below ``at_least``
    (a portal's Retry-After)."""
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = max(1, attempt)
    wait = wait_exponential_jitter(multiplier=initial, max=maximum, exp_base=2, jitter=jitter)
    delay = float(wait(state))
    if at_least is not None:
        delay = max(delay, min(at_least, maximum))
    return delay
