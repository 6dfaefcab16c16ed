"""The app factory: a service is its settings, its routers and (optionally) extra lifespan work."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from decimal import Decimal
from typing import Any

import orjson
import structlog
from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.requests import Request
from starlette.responses import Response

from aintech_shared import tracing
from aintech_shared.auth import JWKSCache, TokenVerifier
from aintech_shared.db import Database
from aintech_shared.docs import install_docs
from aintech_shared.errors import install_error_handlers, problem, responses
from aintech_shared.hot import HotDispatch
from aintech_shared.jsonbody import JsonTextGuard
from aintech_shared.kafka_probe import KafkaProbe
from aintech_shared.logging import configure_logging
from aintech_shared.observability import ObservabilityMiddleware, metrics_endpoint
from aintech_shared.routing import constrain_path_parameters
from aintech_shared.settings import ServiceSettings
from aintech_shared.watchdog import LoopWatchdog

LifespanHook = Callable[[FastAPI], AbstractAsyncContextManager[None]]
# Extra readiness: returns (ready, details) merged into /readyz under its own key.
ReadinessCheck = Callable[[Request], Awaitable[tuple[bool, dict[str, Any]]]]

log = structlog.get_logger("aintech.app")

PROBLEM_RESPONSES = responses(
    (400, "Malformed request body (not valid JSON)"),
    (401, "Missing, expired or invalid access token"),
    (403, "Authenticated but not allowed"),
    (422, "Validation failed (field-level `errors`)"),
)
# FastAPI's own OpenTelemetry layer, off: the chassis has its telemetry (``ObservabilityMiddleware``
# for metrics and the access line, ``tracing.TracingMiddleware`` for spans, which does not install a
# global tracer provider). Left on, FastAPI asked the global tracer, meter and logger providers on
# every request whether it should instrument (an environment read among them: ~8 µs a request,
# measured in process), and would add a second span per request to ours if any library ever set a
# global provider.
FASTAPI_TELEMETRY_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def _json_default(value: Any) -> str:
    if isinstance(value, uuid.UUID | Decimal):  # asyncpg's UUID is a subclass orjson leaves to us
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def render_json(content: Any) -> bytes:
    """JSON exactly as the response models render it (UTC instants with ``Z``, UUIDs and Decimals
    as strings), with orjson: for hot reads that return rows already typed by the database."""
    return orjson.dumps(content, default=_json_default, option=orjson.OPT_UTC_Z)


def json_response(content: Any, *, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A ``Response`` of :func:`render_json` (FastAPI neither validates nor re-serialises it)."""
    return Response(
        render_json(content), status_code=status_code, headers=headers, media_type="application/json"
    )


class ServiceApp(FastAPI):
    """FastAPI with the hot route table in front of its stack (``aintech_shared.hot.HotDispatch``)."""

    def build_middleware_stack(self) -> Any:
        return HotDispatch(self, super().build_middleware_stack())


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    version: str = "0.1.0",
    routers: Sequence[APIRouter] = (),
    lifespan_hooks: Sequence[LifespanHook] = (),
    with_database: bool = True,
    readiness: dict[str, ReadinessCheck] | None = None,
    guard_json_text: bool = True,
) -> FastAPI:
    """Build a FastAPI app with health, readiness, metrics, problem+json errors and token checks.

    ``guard_json_text``: JSON bodies holding a lone surrogate or a NUL answer 422 (the gateway,
    which forwards bodies unread, leaves that to the services behind it).
    """
    configure_logging(
        settings.service_name,
        level=settings.log_level,
        json=settings.log_json,
        queue_lines=settings.log_queue_lines,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        watchdog = None
        if settings.loop_stall_ms > 0:
            watchdog = LoopWatchdog(settings.loop_stall_ms)
            watchdog.start()
        app.state.loop_watchdog = watchdog
        db = None
        if with_database:
            db = Database(
                settings.service_database_url, schema=settings.db_schema, pool_size=settings.db_pool_size
            )
            app.state.db = db
        app.state.kafka_probe = KafkaProbe(settings.kafka_bootstrap)
        if not hasattr(app.state, "token_verifier"):
            app.state.token_verifier = TokenVerifier(
                JWKSCache(settings.jwks_url), issuer=settings.jwt_issuer, audience=settings.jwt_audience
            )
        try:
            async with _chain(app, lifespan_hooks):
                yield
        finally:
            if db is not None:
                await db.dispose()
            if watchdog is not None:
                watchdog.stop()

    app = ServiceApp(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        responses=PROBLEM_RESPONSES,
        docs_url=None,  # served by install_docs, assets included (no CDN)
        redoc_url=None,
        openapi_url="/openapi.json",
        telemetry=FASTAPI_TELEMETRY_OFF,
    )
    install_docs(app)
    install_error_handlers(app)
    if guard_json_text:
        app.add_middleware(JsonTextGuard)  # inside the observability middleware
    if tracing.configure(settings.service_name):  # only with OTLP configured: nothing otherwise
        app.add_middleware(tracing.TracingMiddleware, service=settings.service_name)
    app.add_middleware(ObservabilityMiddleware, service=settings.service_name)

    @app.get("/healthz", tags=["ops"], summary="Liveness: the process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": settings.service_name}

    @app.get("/readyz", tags=["ops"], summary="Readiness: database and Kafka reachable")
    async def readyz(request: Request) -> Any:
        checks: dict[str, dict[str, Any]] = {}
        db = getattr(request.app.state, "db", None)  # the service's, or one a test put there
        if db is not None:
            try:
                await asyncio.wait_for(db.ping(), timeout=3)
                checks["database"] = {"ok": True}
            except Exception as exc:
                checks["database"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        ok, error = await request.app.state.kafka_probe.check()
        checks["kafka"] = {"ok": ok} if ok else {"ok": False, "error": error[:300]}
        extra: dict[str, Any] = {}
        for name, check in (readiness or {}).items():
            ready, details = await check(request)
            checks[name] = {"ok": ready}
            extra[name] = details
        if all(c["ok"] for c in checks.values()):
            return {"status": "ready", "service": settings.service_name, "checks": checks, **extra}
        return problem(
            503,
            title="Not ready",
            detail="A dependency is unreachable: "
            + ", ".join(name for name, c in checks.items() if not c["ok"]),
            instance="/readyz",
            service=settings.service_name,
            checks=checks,
            **extra,
        )

    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    for router in routers:
        constrain_path_parameters(router)
        app.include_router(router)
    return app


@asynccontextmanager
async def _chain(app: FastAPI, hooks: Sequence[LifespanHook]) -> AsyncIterator[None]:
    if not hooks:
        yield
        return
    async with hooks[0](app), _chain(app, hooks[1:]):
        yield
