"""A WebSocket test client speaking the omnichannel protocol (answers pings, waits on conditions)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect


class Socket:
    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.seen: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, url: str, token: str, *, header: bool = False) -> Socket:
        if header:
            conn = await connect(
                url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=30
            )
        else:
            conn = await connect(url, subprotocols=["bearer", token], open_timeout=30)  # type: ignore[list-item]
        return cls(conn)

    async def send(self, frame: dict[str, Any]) -> None:
        await self.connection.send(orjson.dumps(frame).decode())

    async def until(self, match: Callable[[dict[str, Any]], bool], *, within: float = 30.0) -> dict[str, Any]:
        """The next frame matching ``match`` (earlier ones are kept in ``seen``)."""
        deadline = time.monotonic() + within
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching frame within {within}s; seen: {self.seen[-5:]}")
            try:
                raw = await asyncio.wait_for(self.connection.recv(), timeout=remaining)
            except TimeoutError:
                raise AssertionError(f"no matching frame within {within}s; seen: {self.seen[-5:]}") from None
            frame = orjson.loads(raw)
            if frame.get("type") == "ping":
                await self.send({"type": "pong"})
                continue
            self.seen.append(frame)
            if match(frame):
                return frame

    async def messages(self, count: int, *, within: float = 30.0) -> list[dict[str, Any]]:
        out = []
        for _ in range(count):
            out.append(await self.until(lambda f: f.get("type") == "message", within=within))
        return out

    async def close(self) -> None:
        await self.connection.close()


def ws_url(base: str, path: str) -> str:
    return base.replace("http://", "ws://") + path
