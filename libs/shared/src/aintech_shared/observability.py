"""HTTP middleware: request/correlation ids, Prometheus metrics and an access log line."""

from __future__ import annotations

import re
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aintech_shared.context import (
    CORRELATION_ID_HEADER,
    REQUEST_ID_HEADER,
    correlation_id_var,
    new_id,
    request_id_var,
)
from aintech_shared.logging import log_access

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

# What a caller may choose as its request or correlation id (it ends up in logs, audit rows of at
# most 64 characters and Kafka events); anything else is replaced by a fresh id.
SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_RID, _CID = REQUEST_ID_HEADER.encode(), CORRELATION_ID_HEADER.encode()
# Metric labels stay bounded: any other method a client sends is counted as OTHER.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _route_template(scope: Scope) -> str:
    """The matched route's template (bounded label cardinality), or "unmatched"."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path:
        return str(path)
    if "endpoint" in scope:  # plain Starlette routes do not record themselves in the scope
        app = scope.get("app")
        for candidate in getattr(getattr(app, "router", None), "routes", ()):
            if candidate.matches(scope)[0] is Match.FULL:
                return str(getattr(candidate, "path", "unmatched"))
    return "unmatched"


def _sane(value: str | None) -> str | None:
    return value if value and SANE_ID.fullmatch(value) else None


class ObservabilityMiddleware:
    """Pure ASGI middleware (no BaseHTTPMiddleware buffering) around every HTTP request.

    Sets the request and correlation ids (taken from the caller or minted), echoes them on the
    response, counts and times the request per route template, and writes the access line.
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        # Labelled children cached per (method, route[, status]): one dict lookup per request.
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._timers: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = cid = None
        for name, value in scope["headers"]:
            if name == _RID:
                rid = value.decode("latin-1")
            elif name == _CID:
                cid = value.decode("latin-1")
        rid = _sane(rid) or new_id()
        cid = _sane(cid) or rid
        rid_token = request_id_var.set(rid)
        cid_token = correlation_id_var.set(cid)
        status = 500
        start = time.perf_counter()
        ids = [(_RID, rid.encode("latin-1")), (_CID, cid.encode("latin-1"))]

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *ids]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route = _route_template(scope)
            method = scope["method"]
            self._observe(method, route, status, elapsed)
            if scope["path"] not in _QUIET_PATHS:
                log_access(
                    method=method,
                    route=route,
                    path=scope["path"],
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
            request_id_var.reset(rid_token)
            correlation_id_var.reset(cid_token)

    def _observe(self, method: str, route: str, status: int, elapsed: float) -> None:
        if method not in _METHODS:
            method = "OTHER"
        counter = self._counters.get((method, route, status))
        if counter is None:
            counter = HTTP_REQUESTS.labels(self.service, method, route, str(status))
            self._counters[(method, route, status)] = counter
        timer = self._timers.get((method, route))
        if timer is None:
            timer = HTTP_LATENCY.labels(self.service, method, route)
            self._timers[(method, route)] = timer
        counter.inc()
        timer.observe(elapsed)


async def metrics_endpoint(_: Request) -> Response:
    """Prometheus exposition of this process's metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
