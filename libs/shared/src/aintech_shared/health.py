"""Worker liveness: each long-running loop reports progress and failures; /healthz tells the truth.

A loop is *stalled* when

- it failed ``max_failures`` times in a row (every attempt of the relay against an unreachable
  Kafka or database, every recovery probe of a consumer waiting out an outage), or
- work is waiting (a batch fetched but not committed, rows claimed but not sent, a failing
  attempt) and it has made no progress for ``stall_seconds``, or
- it has not turned at all for ``stall_seconds`` (hung).

The worker's ``/healthz`` (the Kubernetes liveness probe) answers 503 problem+json naming each
stalled loop and why; ``/metrics`` exposes ``worker_loop_consecutive_failures`` and
``worker_loop_seconds_since_progress`` per loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from prometheus_client import Gauge
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aintech_shared.errors import problem
from aintech_shared.observability import metrics_endpoint

DEFAULT_MAX_FAILURES = 10
DEFAULT_STALL_SECONDS = 120.0

LOOP_FAILURES = Gauge(
    "worker_loop_consecutive_failures", "Consecutive failed attempts of a worker loop", ["loop"]
)
LOOP_SINCE_PROGRESS = Gauge(
    "worker_loop_seconds_since_progress",
    "Seconds since a worker loop last made progress (or found nothing to do)",
    ["loop"],
)


@dataclass
class LoopHealth:
    """What one loop last did: progress, consecutive failures, whether work is waiting."""

    name: str
    max_failures: int = DEFAULT_MAX_FAILURES
    stall_seconds: float = DEFAULT_STALL_SECONDS
    status: str = "starting"
    consecutive_failures: int = 0
    last_error: str = ""
    last_beat: float = field(default_factory=time.monotonic)
    last_progress: float = field(default_factory=time.monotonic)
    waiting_since: float | None = None

    def __post_init__(self) -> None:
        LOOP_FAILURES.labels(self.name).set(0)
        LOOP_SINCE_PROGRESS.labels(self.name).set_function(lambda: time.monotonic() - self.last_progress)

    def beat(self) -> None:
        """The loop is turning (not necessarily succeeding)."""
        self.last_beat = time.monotonic()

    def progress(self, status: str = "ok") -> None:
        """The loop did its work (or found none to do): failures and waiting work are cleared."""
        now = time.monotonic()
        self.last_beat = self.last_progress = now
        self.waiting_since = None
        self.consecutive_failures = 0
        self.last_error = ""
        self.status = status
        LOOP_FAILURES.labels(self.name).set(0)

    def waiting(self, status: str) -> None:
        """Work is waiting that has not been done yet (e.g. records fetched, not committed)."""
        self.beat()
        if self.waiting_since is None:
            self.waiting_since = time.monotonic()
        self.status = status

    def failed(self, error: str, status: str = "retrying") -> None:
        """An attempt failed; the work it was doing is still waiting."""
        self.waiting(status)
        self.consecutive_failures += 1
        self.last_error = error[:500]
        LOOP_FAILURES.labels(self.name).set(self.consecutive_failures)

    def stalled_because(self, now: float) -> str | None:
        """Why the loop counts as stalled, or None while it is healthy."""
        if self.consecutive_failures >= self.max_failures:
            return f"{self.consecutive_failures} consecutive failures; last: {self.last_error}"
        if self.waiting_since is not None and now - self.last_progress > self.stall_seconds:
            reason = f"no progress for {now - self.last_progress:.0f}s while work is waiting"
            return f"{reason}; last error: {self.last_error}" if self.last_error else reason
        if now - self.last_beat > self.stall_seconds:
            return f"the loop has not run for {now - self.last_beat:.0f}s"
        return None

    def snapshot(self, now: float) -> dict[str, Any]:
        reason = self.stalled_because(now)
        out: dict[str, Any] = {
            "alive": reason is None,
            "status": self.status,
            "consecutive_failures": self.consecutive_failures,
            "seconds_since_progress": round(now - self.last_progress, 1),
        }
        if reason is not None:
            out["stalled"] = reason
        if self.last_error:
            out["last_error"] = self.last_error
        return out


def health_app(loops: list[LoopHealth], service: str) -> Starlette:
    """A tiny app serving the worker's /healthz (every loop healthy) and /metrics."""

    async def healthz(_: Request) -> Response:
        now = time.monotonic()
        snapshots = {loop.name: loop.snapshot(now) for loop in loops}
        stalled = {name: s["stalled"] for name, s in snapshots.items() if not s["alive"]}
        if not stalled:
            return JSONResponse({"status": "ok", "service": service, "loops": snapshots})
        return problem(
            503,
            title="Worker stalled",
            detail="; ".join(f"{name}: {why}" for name, why in stalled.items()),
            instance="/healthz",
            service=service,
            stalled=sorted(stalled),
            loops=snapshots,
        )

    return Starlette(routes=[Route("/healthz", healthz), Route("/metrics", metrics_endpoint)])


class EmbeddedServer(uvicorn.Server):
    """uvicorn inside the worker's own event loop; the worker, not uvicorn, handles signals.

    uvicorn's own loop wakes ten times a second to notice ``should_exit`` (and refresh its Date
    header every tenth turn): in an idle worker that is most of what the health server costs. This
    one wakes once a second (each turn refreshes the Date header) or at once when told to exit.
    """

    TURN = 1.0

    def __init__(self, config: uvicorn.Config) -> None:
        self._exit = asyncio.Event()
        super().__init__(config)

    @property
    def should_exit(self) -> bool:
        return self._exit.is_set()

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        if value:
            self._exit.set()
        else:
            self._exit.clear()

    async def main_loop(self) -> None:
        turns = 0
        while not await self.on_tick(turns):
            turns += 10  # uvicorn refreshes its Date header on every tenth tick: on each turn here
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit.wait(), timeout=self.TURN)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
