"""The gateway: the platform's one public entry, and its edge (tokens, limits, headers, WebSockets)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aintech_shared.app import create_service_app
from aintech_shared.proxies import TrustedProxies
from gateway.browser import BrowserPolicy
from gateway.denylist import DenylistFeed, SessionDenylist
from gateway.front import FrontDoor
from gateway.openapi import MergedOpenAPI
from gateway.proxy import Forwarder
from gateway.ratelimit import EdgeRateLimiter
from gateway.readiness import services_ready
from gateway.settings import Settings
from gateway.tokens import EdgeAuth
from gateway.websocket import WebSocketRelay

DESCRIPTION = """Public entry of the AINTECH platform.

* `/api/<service>/<path>` is forwarded to `<path>` on the service: `auth` (authenticator), `crm`
  (core-crm), `telephony`, `omnichannel`, `quotes` (quote-engine), `scraper`, `fraud` (ai-fraud),
  `analytics`. Method, query, headers and body are preserved; `X-Forwarded-For/Proto/Host/Prefix`,
  `X-Request-ID`, `X-Correlation-ID` and, for a verified caller, the signed `X-Aintech-Identity`
  are set.
* Every call needs `Authorization: Bearer <access token>` except the public ones (sign-in,
  registration, password reset, e-mail verification, OAuth, the JWKS, provider webhooks). An
  invalid, expired or revoked token is a 401 here, before any service sees the call.
* Calls are rate-limited per client IP (anonymous) and per user, tighter on sign-in, sign-up,
  password reset, verification and webhooks: 429 with `Retry-After`; every answer carries
  `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.
* `/webhooks/<provider>/...` goes to the service that owns that webhook, path unchanged.
* `/ws/<service>/<channel>/...` is a WebSocket to the service (`omnichannel`: `chat`,
  `inbox`, `notifications`; `telephony`: `calls`). The token goes in `Sec-WebSocket-Protocol:
  bearer, <token>`, as a `bearer.<token>` subprotocol beside the channel's own (the softphone's
  `aintech.signalling, bearer.<token>`), or in the `access_token` query parameter.
* Text never carries a NUL character or a lone UTF-16 surrogate (Postgres cannot store them), in
  any field, key, query or path parameter: 422 with the field named. The schemas do not repeat it.
* A service's `/healthz`, `/readyz`, `/metrics`, `/docs` and `/openapi.json` are not reachable
  from outside; `/openapi.json` (and `/docs`) here is the whole platform's API, every service's
  operations under their public paths, cached for 30 s.
* `/readyz` reports the readiness of every service and of the revoked-session feed. A service
  that is down answers 502 problem+json; one that is too slow, 504.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the gateway application."""
    settings = settings or Settings()
    proxies = TrustedProxies(settings.trusted_proxies)
    forwarder = Forwarder(settings, proxies)
    denylist = SessionDenylist()
    feed = DenylistFeed(settings, denylist)
    auth = EdgeAuth(settings, denylist)
    limiter = EdgeRateLimiter(settings)
    relay = WebSocketRelay(settings, forwarder)
    denylist.on_revoke(relay.session_revoked)

    @asynccontextmanager
    async def edge(app: FastAPI) -> AsyncIterator[None]:
        await forwarder.start()
        await limiter.start()
        await feed.start()
        app.state.forwarder = forwarder
        app.state.denylist_feed = feed
        try:
            yield
        finally:
            await feed.stop()
            await limiter.stop()
            await forwarder.close()

    async def denylist_ready(_: Request) -> tuple[bool, dict[str, Any]]:
        return feed.status()

    app = create_service_app(
        settings,
        title="AINTECH gateway",
        description=DESCRIPTION,
        lifespan_hooks=[edge],
        readiness={"services": services_ready, "denylist": denylist_ready},
        guard_json_text=False,  # bodies are forwarded unread; each service guards its own
    )
    app.state.token_verifier = auth.verifier
    app.router.redirect_slashes = False  # a redirect built from the Host header would reflect it

    merged = MergedOpenAPI(app, forwarder)

    async def openapi(_: Request) -> Response:
        return JSONResponse(await merged.document())

    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) != "/openapi.json"]
    app.router.routes.append(Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False))
    # Inside the observability middleware (request ids, metrics and the access log see every call).
    app.user_middleware.extend(
        [
            Middleware(BrowserPolicy, settings=settings, proxies=proxies),
            Middleware(
                FrontDoor,
                settings=settings,
                proxies=proxies,
                forwarder=forwarder,
                auth=auth,
                denylist=denylist,
                limiter=limiter,
                relay=relay,
            ),
        ]
    )
    return app
