"""Serving: the heap built at startup is kept out of the garbage collector's full collections; the
server's loop waits for its exit instead of ticking ten times a second."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from aintech_devtools.testing import uvicorn_serving
from aintech_shared.serve import QuietServer, config, settle_heap
from aintech_shared.settings import ServiceSettings


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def _full_collection_ms() -> float:
    started = time.perf_counter()
    gc.collect(2)
    return (time.perf_counter() - started) * 1000


def test_a_settled_heap_is_not_walked_by_full_collections(unfrozen: None) -> None:
    startup = [{"route": n, "fields": [str(n)] * 3} for n in range(300_000)]  # a large startup heap
    before = min(_full_collection_ms() for _ in range(3))
    frozen = settle_heap()
    after = min(_full_collection_ms() for _ in range(3))
    assert frozen >= 300_000 and gc.get_freeze_count() == frozen
    assert after < before / 3, f"full collection {before:.1f} ms before, {after:.1f} ms after"
    assert len(startup) == 300_000  # still alive: freezing frees nothing


class _Ticks(QuietServer):
    TURN = 3600.0  # a turn never ends by itself in these tests: only ``should_exit`` ends it

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ticks: list[int] = []

    async def on_tick(self, counter: int) -> bool:
        self.ticks.append(counter)
        return await super().on_tick(counter)


def _quiet_server() -> _Ticks:
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    return _Ticks(config(app, ServiceSettings(), host="127.0.0.1", port=0, loop="asyncio", lifespan="off"))


async def test_the_api_server_waits_for_its_exit_instead_of_ticking_ten_times_a_second() -> None:
    server = _quiet_server()
    async with uvicorn_serving(server) as port:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(3):
                response = await client.get("/ping")
                assert response.status_code == 200 and response.headers["date"]
        # uvicorn's own loop would have ticked every 0.1 s while the requests were answered; this
        # one looked once (a turn refreshes the Date header: uvicorn does it on every tenth tick)
        assert server.ticks == [0]
    assert server.ticks == [0, 10]  # told to exit: woken at once, one last look, then shut down


@pytest.fixture
def sigterm_ignored_after() -> Iterator[None]:
    """uvicorn re-raises a captured signal once it has shut down: let it land on a no-op here."""
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    yield
    signal.signal(signal.SIGTERM, previous)


async def test_a_sigterm_wakes_the_waiting_server_and_it_shuts_down(sigterm_ignored_after: None) -> None:
    server = _quiet_server()
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(30):
        while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
            await asyncio.sleep(0.01)
    # The signal's handler sets ``should_exit`` while the loop waits in epoll with an hour to go:
    # only the wake-up through the loop's self-pipe ends that wait (30 s deadline, not the hour).
    os.kill(os.getpid(), signal.SIGTERM)
    async with asyncio.timeout(30):
        await task
    assert server.should_exit and server.ticks[-1] == 10
