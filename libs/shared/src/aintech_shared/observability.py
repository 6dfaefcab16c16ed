"""HTTP middleware: request/correlation ids, Prometheus metrics and an access log line."""

from __future__ import annotations

import re
import time

import structlog
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

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

access_log = structlog.get_logger("aintech.access")
# What a caller may choose as its request or correlation id (it ends up in logs, audit rows of at
# most 64 characters and Kafka headers); anything else is replaced by a fresh id.
SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


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
    """Pure ASGI middleware (no BaseHTTPMiddleware buffering) around every HTTP request."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        rid = _sane(headers.get(REQUEST_ID_HEADER)) or new_id()
        cid = _sane(headers.get(CORRELATION_ID_HEADER)) or rid
        rid_token = request_id_var.set(rid)
        cid_token = correlation_id_var.set(cid)
        status = 500
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                raw = list(message.get("headers", []))
                raw.append((REQUEST_ID_HEADER.encode(), rid.encode()))
                raw.append((CORRELATION_ID_HEADER.encode(), cid.encode()))
                message["headers"] = raw
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route = _route_template(scope)
            method = scope["method"]
            HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
            HTTP_LATENCY.labels(self.service, method, route).observe(elapsed)
            if scope["path"] not in _QUIET_PATHS:
                access_log.info(
                    "http_request",
                    method=method,
                    path=scope["path"],
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
            request_id_var.reset(rid_token)
            correlation_id_var.reset(cid_token)


async def metrics_endpoint(_: Request) -> Response:
    """Prometheus exposition of this process's metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
