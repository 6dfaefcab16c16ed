"""Real WebSocket servers and clients for the signalling tests."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

from aintech_contracts.rbac import Role
from aintech_devtools.testing import TestKeys, uvicorn_serving


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """``app`` behind a real uvicorn on 127.0.0.1 (its lifespan is the caller's); yields ws://host:port."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_config=None, access_log=False)
    async with uvicorn_serving(uvicorn.Server(config)) as port:
        yield f"ws://127.0.0.1:{port}"


def bearer(keys: TestKeys, role: Role, user: uuid.UUID) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys.token(role=role, sub=str(user))}"}


async def receive(ws: Any, within: float = 5) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), timeout=within)))


async def until(ws: Any, match: Callable[[dict[str, Any]], bool], within: float = 10) -> list[dict[str, Any]]:
    """Frames up to and including the first that matches ``match`` (fails after ``within`` seconds)."""
    deadline, seen = time.monotonic() + within, list[dict[str, Any]]()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no matching frame within {within}s; seen {seen[-5:]}")
        frame = await receive(ws, remaining)
        seen.append(frame)
        if match(frame):
            return seen


async def wait_until(check: Callable[[], bool], within: float = 10, what: str = "condition") -> None:
    """Return once ``check()`` holds; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {within}s")
        await asyncio.sleep(0.02)
