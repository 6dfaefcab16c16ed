"""The gateway: one public entry that routes /api/<service>/... and /webhooks/... to the fleet."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aintech_shared.app import create_service_app
from aintech_shared.errors import problem
from gateway.openapi import MergedOpenAPI
from gateway.proxy import Forwarder
from gateway.readiness import services_ready
from gateway.settings import Settings

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]

DESCRIPTION = """Public entry of the AINTECH platform.

* `/api/<service>/<path>` is forwarded to `<path>` on the service: `auth` (authenticator), `crm`
  (core-crm), `telephony`, `omnichannel`, `quotes` (quote-engine), `scraper`, `fraud` (ai-fraud),
  `analytics`. Method, query, headers and body are preserved; `X-Forwarded-For/Proto/Host/Prefix`,
  `X-Request-ID` and `X-Correlation-ID` are set.
* `/webhooks/<provider>/...` goes to the service that owns that webhook, path unchanged.
* `/openapi.json` (and `/docs`) is the whole platform's API: every service's operations under
  their public paths, cached for 30 s.
* `/readyz` reports the readiness of every service. A service that is down answers
  502 problem+json; one that is too slow, 504.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the gateway application."""
    settings = settings or Settings()
    forwarder = Forwarder(settings)

    @asynccontextmanager
    async def forwarding(app: FastAPI) -> AsyncIterator[None]:
        await forwarder.start()
        app.state.forwarder = forwarder
        try:
            yield
        finally:
            await forwarder.close()

    app = create_service_app(
        settings,
        title="AINTECH gateway",
        description=DESCRIPTION,
        lifespan_hooks=[forwarding],
        readiness={"services": services_ready},
    )

    async def api(request: Request) -> Response:
        route = request.path_params["service"]
        target = forwarder.routes.for_api(route, request.path_params["path"])
        if target is None:
            known = ", ".join(sorted(forwarder.routes.upstreams))
            return problem(
                404,
                detail=f"No service is published at /api/{route}. Known: {known}.",
                instance=request.url.path,
            )
        return await forwarder.forward(request, target)

    async def webhooks(request: Request) -> Response:
        target = forwarder.routes.for_webhook(request.path_params["path"])
        if target is None:
            return problem(404, detail="No service owns this webhook.", instance=request.url.path)
        return await forwarder.forward(request, target)

    merged = MergedOpenAPI(app, forwarder)

    async def openapi(_: Request) -> Response:
        return JSONResponse(await merged.document())

    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) != "/openapi.json"]
    app.router.routes.append(Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False))
    app.router.routes.append(Route("/api/{service}/{path:path}", api, methods=METHODS))
    app.router.routes.append(Route("/webhooks/{path:path}", webhooks, methods=METHODS))
    return app
