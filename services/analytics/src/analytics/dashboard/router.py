"""The dashboard page (`GET /ui`, public: it holds no data and signs in through the platform), its
assets (`GET /ui/static/{name}`) and the live socket (`/ws/live`, `analytics:read`)."""

from __future__ import annotations

import asyncio
import contextlib
from importlib.resources import files
from typing import Annotated

import orjson
from fastapi import APIRouter, Path, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, Response

from aintech_contracts.rbac import Permission
from aintech_shared.auth import TokenVerifier
from aintech_shared.errors import AppError, NotFound, responses
from aintech_shared.live import RESYNC, TopicHub
from analytics.dashboard.live import TOPIC

router = APIRouter(tags=["dashboard"])

STATIC = files("analytics.dashboard") / "static"
ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
CLOSE_UNAUTHORIZED, CLOSE_FORBIDDEN = 1008, 4403


@router.get(
    "/ui",
    response_class=HTMLResponse,
    summary="The analytics dashboard page",
    description="Signs in through `/api/auth/login`, reads `/api/analytics/dashboard/{type}` and refreshes "
    "within seconds of new events over `/ws/analytics/live`. Filters live in the URL "
    "(`?type=sales&start=2026-01-01&end=2026-03-31&carrier=Mapfre`). Assets are served from here.",
)
async def page() -> HTMLResponse:
    html = (STATIC / "dashboard.html").read_text(encoding="utf-8")
    return HTMLResponse(html, headers={**HEADERS, "Cache-Control": "no-cache"})


@router.get(
    "/ui/static/{name}",
    summary="A dashboard asset",
    response_class=Response,
    responses=responses((404, "No such asset")),
)
async def asset(name: Annotated[str, Path(max_length=40, pattern=r"^[a-z.]+$")]) -> Response:
    if name not in ASSETS:
        raise NotFound(f"No dashboard asset {name!r}.")
    body = (STATIC / name).read_bytes()
    return Response(body, media_type=ASSETS[name], headers={**HEADERS, "Cache-Control": "max-age=300"})


def _token(websocket: WebSocket) -> tuple[str | None, str | None]:
    """The token (gateway's Authorization header, ``bearer, <token>`` subprotocol or
    ``access_token``) and the subprotocol to accept."""
    scheme, _, value = websocket.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), None
    offered = websocket.scope.get("subprotocols") or []
    if len(offered) >= 2 and offered[0].lower() == "bearer":
        return offered[1], "bearer"
    return websocket.query_params.get("access_token") or None, None


@router.websocket("/ws/live")
async def live(websocket: WebSocket) -> None:
    """Pushes ``{"type": "ingested", "count", "types"}`` after each stored batch (``resync`` after a
    gap); the page refetches its figures. Read-only."""
    token, subprotocol = _token(websocket)
    verifier: TokenVerifier = websocket.app.state.token_verifier
    if not token:
        await websocket.close(code=CLOSE_UNAUTHORIZED, reason="missing access token")
        return
    try:
        principal = await verifier.verify(token)
    except AppError as exc:
        await websocket.close(code=CLOSE_UNAUTHORIZED, reason=exc.detail[:120])
        return
    if not principal.is_staff or not principal.has(Permission.analytics_read):
        await websocket.close(code=CLOSE_FORBIDDEN, reason="analytics:read needed")
        return
    hub: TopicHub = websocket.app.state.live
    subscription = hub.subscribe(TOPIC)
    try:
        await websocket.accept(subprotocol=subprotocol)
        await websocket.send_text('{"type":"hello"}')

        async def push() -> None:
            while True:
                event = await subscription.get()
                await websocket.send_text(orjson.dumps(event if event is not RESYNC else RESYNC).decode())

        async def drain() -> None:
            with contextlib.suppress(WebSocketDisconnect):
                while True:
                    await websocket.receive_text()

        tasks = [asyncio.create_task(push()), asyncio.create_task(drain())]
        _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    finally:
        subscription.close()
