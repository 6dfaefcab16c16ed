"""The bare anchor of `make bench`: Starlette + asyncpg reading one row by primary key.

No framework layers, no ORM, no auth, no logging: the ceiling one uvicorn worker reaches on this
machine for "one HTTP request, one indexed read, one JSON answer". `bench/run.py` starts it with
``python bench/anchor.py <port>`` (uvloop + httptools, one worker) and reports every other
figure as a ratio to it. ``ANCHOR_DSN`` is the database to read; ``ANCHOR_QUERY`` one
``SELECT ... WHERE id = $1`` taking the path parameter.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

QUERY = os.environ.get(
    "ANCHOR_QUERY", "SELECT id, email, first_name, last_name, role FROM auth.users WHERE id = $1"
)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(os.environ["ANCHOR_DSN"], min_size=10, max_size=10)
    try:
        yield
    finally:
        await app.state.pool.close()


async def row(request: Request) -> Response:
    async with request.app.state.pool.acquire() as conn:
        record = await conn.fetchrow(QUERY, uuid.UUID(request.path_params["id"]))
    if record is None:
        return JSONResponse({"detail": "not found"}, status_code=404)
    return JSONResponse({k: str(v) for k, v in record.items()})


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/rows/{id}", row), Route("/healthz", healthz)], lifespan=lifespan)


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )
