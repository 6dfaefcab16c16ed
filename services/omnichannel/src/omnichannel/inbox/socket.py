"""The staff inbox socket's protocol: a ``hello``, then every ``conversation.updated``,
``message.created`` and ``message.status`` pushed; anything the client sends is refused (read-only)."""

from __future__ import annotations

from typing import Any

from fastapi import WebSocket

from omnichannel.core import sockets
from omnichannel.core.live import INBOX_TOPIC, LiveHub
from omnichannel.settings import Settings


async def serve(websocket: WebSocket, *, subprotocol: str | None) -> None:
    """Accept an authenticated staff socket and push the inbox's live events until it closes."""
    hub: LiveHub = websocket.app.state.hub
    settings: Settings = websocket.app.state.settings
    subscription = hub.subscribe(INBOX_TOPIC)
    await websocket.accept(subprotocol=subprotocol)
    await sockets.send_json(websocket, {"type": "hello"})

    async def on_event(event: dict[str, Any]) -> None:
        await sockets.send_json(websocket, event)

    async def on_client(frame: dict[str, Any]) -> None:
        await sockets.send_json(
            websocket, {"type": "error", "code": "read_only", "detail": "This socket only pushes."}
        )

    await sockets.serve(
        websocket,
        subscription=subscription,
        on_client=on_client,
        on_event=on_event,
        heartbeat=settings.chat_heartbeat_seconds,
    )
