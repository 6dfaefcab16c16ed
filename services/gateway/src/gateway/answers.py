"""The gateway's own refusals, as problem+json, on plain HTTP and on a WebSocket upgrade alike."""

from __future__ import annotations

from typing import Any

from starlette.types import Receive, Scope, Send

from aintech_shared.errors import problem


async def refuse(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    detail: str,
    *,
    title: str | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
    close: bool = False,
    **extra: Any,
) -> None:
    """Answer with a problem+json ``status``; ``close`` ends the connection (body left unread)."""
    response = problem(status, title=title, detail=detail, instance=scope["path"], **extra)
    raw = response.raw_headers
    if headers:
        raw.extend(headers)
    if scope["type"] == "websocket":
        # The ASGI "websocket.http.response" extension: a real HTTP answer instead of the handshake.
        await send({"type": "websocket.http.response.start", "status": status, "headers": raw})
        await send({"type": "websocket.http.response.body", "body": response.body})
        return
    if close:
        raw.append((b"connection", b"close"))
    await response(scope, receive, send)
