"""Worker liveness: each long-running loop beats; the worker's /healthz fails when one stalls."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from aintech_shared.observability import metrics_endpoint

STALL_AFTER_SECONDS = 180.0


@dataclass
class Heartbeat:
    """The last time a loop made progress, and what it last reported."""

    name: str
    at: float = field(default_factory=time.monotonic)
    status: str = "starting"

    def beat(self, status: str = "ok") -> None:
        self.at = time.monotonic()
        self.status = status

    def snapshot(self, now: float) -> dict[str, Any]:
        age = now - self.at
        alive = age < STALL_AFTER_SECONDS
        return {"alive": alive, "status": self.status, "seconds_since_beat": round(age, 1)}


def health_app(heartbeats: list[Heartbeat], service: str) -> Starlette:
    """A tiny app serving the worker's /healthz (every loop beating) and /metrics."""

    async def healthz(_: Request) -> JSONResponse:
        now = time.monotonic()
        loops = {hb.name: hb.snapshot(now) for hb in heartbeats}
        alive = all(loop["alive"] for loop in loops.values())
        return JSONResponse(
            {"status": "ok" if alive else "stalled", "service": service, "loops": loops},
            status_code=200 if alive else 503,
        )

    return Starlette(routes=[Route("/healthz", healthz), Route("/metrics", metrics_endpoint)])


class EmbeddedServer(uvicorn.Server):
    """uvicorn inside the worker's own event loop; the worker, not uvicorn, handles signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
