"""Serving: the heap built at startup is kept out of the garbage collector's full collections; an
answer's head leaves with its body."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from uvicorn.server import ServerState

from aintech_shared.serve import config, protocol_with_header_timeout, settle_heap
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


# --- an answer's head and body in one write -------------------------------------------------------


class RecordingTransport(asyncio.Transport):
    """A loopback peer's view of the server's socket: every ``write`` call, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        self.writes.append(b"".join(list_of_data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class ServedSettings(ServiceSettings, service="telephony"):
    pass


def answer(body: bytes, *, pause: bool = False) -> Any:
    """A raw ASGI app answering ``body`` with a length; ``pause``: it awaits between head and body."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [(b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if pause:
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": body})

    return app


async def served_writes(app: Any, request: bytes) -> list[bytes]:
    """Drive the chassis' protocol (uvicorn's, as ``serve()`` runs it) over one request; its writes."""
    server_config = config(app, ServedSettings(), log_level="warning")
    server_config.load()
    transport = RecordingTransport()
    loop = asyncio.get_running_loop()
    protocol = protocol_with_header_timeout(10.0)(server_config, ServerState(), {}, loop)
    protocol.connection_made(transport)
    protocol.data_received(request)
    await asyncio.gather(*protocol.tasks)
    await asyncio.sleep(0)  # a head still held goes out on the loop's next turn
    protocol.connection_lost(None)
    return transport.writes


async def test_an_answer_s_head_and_body_leave_in_one_write() -> None:
    writes = await served_writes(answer(b'{"ok":true}'), b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
    assert len(writes) == 1, writes
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n") and writes[0].endswith(b'\r\n\r\n{"ok":true}')


async def test_a_long_body_leaves_with_its_head_too() -> None:
    body = b"x" * 200_000
    writes = await served_writes(answer(body), b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
    assert len(writes) == 1 and writes[0].endswith(b"\r\n\r\n" + body)


async def test_a_head_answer_writes_its_head_without_waiting() -> None:
    writes = await served_writes(answer(b"abc"), b"HEAD / HTTP/1.1\r\nhost: x\r\n\r\n")
    assert len(writes) == 1, writes
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n") and writes[0].endswith(b"\r\n\r\n")


async def test_a_head_whose_body_comes_later_is_not_held_back_for_it() -> None:
    writes = await served_writes(answer(b"late", pause=True), b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
    assert len(writes) == 2, writes
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n") and writes[0].endswith(b"\r\n\r\n")
    assert writes[1] == b"late"
