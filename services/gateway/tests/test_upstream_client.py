"""The gateway's lean upstream client: keep-alive reuse and its limits, against real servers.

Through a real gateway process in front of the uvicorn stand-in (served like every service), and
the pool alone (``gateway.upstream_http``) against the stand-in or a raw loopback server where a
test needs a service that misbehaves in one exact way.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from aintech_contracts.fleet import BY_NAME
from gateway.upstream_http import BadAnswer, Disconnected, UpstreamPool, UpstreamTimeout

from .conftest import Gateway

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def eventually(check: Callable[[], bool], what: str, within: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not after {within:.0f}s: {what}")
        await asyncio.sleep(0.01)


def test_sequential_requests_reuse_one_upstream_connection(gateway: Gateway) -> None:
    auth = gateway.auth(gateway.token())
    with httpx.Client(base_url=gateway.url, headers=auth, timeout=30) as client:
        ports = {client.get("/api/omnichannel/peer").json()["port"] for _ in range(5)}
    assert len(ports) == 1, f"one keep-alive connection carries them all, not {len(ports)}"


def test_connection_close_from_the_service_is_honoured(gateway: Gateway) -> None:
    auth = gateway.auth(gateway.token())
    with httpx.Client(base_url=gateway.url, headers=auth, timeout=30) as client:
        closing = client.get("/api/telephony/peer-then-close")
        assert closing.status_code == 200
        assert "connection" not in closing.headers, "hop-by-hop: not relayed to the client"
        after = [client.get("/api/telephony/peer").json()["port"] for _ in range(2)]
    assert closing.json()["port"] not in after, "the connection the service closed is not reused"
    assert after[0] == after[1]


def test_answers_without_a_body_keep_the_connection_usable(gateway: Gateway) -> None:
    auth = gateway.auth(gateway.token())
    with httpx.Client(base_url=gateway.url, headers=auth, timeout=30) as client:
        before = client.get("/api/auth/peer").json()["port"]
        empty = client.get("/api/auth/no-content")
        assert empty.status_code == 204
        assert empty.content == b""
        assert empty.headers["x-kind"] == "empty"
        cached = client.get("/api/auth/not-modified")
        assert cached.status_code == 304
        assert cached.content == b""
        assert cached.headers["etag"] == '"v1"'
        head = client.head("/api/auth/me")
        assert head.status_code == 200
        assert head.content == b""
        after = client.get("/api/auth/peer").json()["port"]
    assert after == before, "204 and 304 end where their head ends: the connection stays pooled"


def test_a_chunked_answer_and_then_the_next_request_on_the_same_connection(gateway: Gateway) -> None:
    auth = gateway.auth(gateway.token())
    with httpx.Client(base_url=gateway.url, headers=auth, timeout=30) as client:
        before = client.get("/api/crm/peer").json()["port"]
        streamed = client.get("/api/crm/stream?n=3")
        assert streamed.text == "part 0\npart 1\npart 2\n"
        assert "content-length" not in streamed.headers
        after = client.get("/api/crm/peer").json()["port"]
    assert after == before


# --- the pool alone ---------------------------------------------------------------------------------


def stand_in_port(gateway: Gateway, name: str = "core_crm") -> int:
    return BY_NAME[name].port + gateway.offset


def pool_for(port: int, *, keepalive: float = 60.0, limit: int = 8) -> UpstreamPool:
    return UpstreamPool("127.0.0.1", port, connect_timeout=2.0, keepalive=keepalive, limit=limit)


def request(path: str, port: int) -> bytes:
    return f"GET {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n\r\n".encode()


async def fetch(pool: UpstreamPool, path: str) -> tuple[int, bytes, bool]:
    """One GET on the pool: status, body, and whether it went on a reused connection."""
    conn = pool.reuse()
    reused = conn is not None
    if conn is None:
        conn = await pool.connect()
    try:
        conn.send(request(path, pool.port))
        await conn.head(10)
        body = await conn.read(10)
        return conn.status, body, reused
    finally:
        pool.release(conn)


async def test_an_idle_connection_past_the_keepalive_deadline_is_never_written_on(gateway: Gateway) -> None:
    port = stand_in_port(gateway)
    fresh = pool_for(port, keepalive=0.0)  # every idle connection is already past its deadline
    kept = pool_for(port, keepalive=60.0)
    try:
        assert [(await fetch(fresh, "/peer"))[2] for _ in range(3)] == [False, False, False]
        assert [(await fetch(kept, "/peer"))[2] for _ in range(3)] == [False, True, True]
    finally:
        fresh.close()
        kept.close()


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[Handler], Awaitable[int]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> int:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def test_a_connection_the_service_closed_while_idle_is_dropped(
    raw_server: Callable[[Handler], Awaitable[int]],
) -> None:
    answered: list[int] = []

    async def answer_once_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        answered.append(1)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()  # as a service does at its idle deadline

    pool = pool_for(await raw_server(answer_once_then_close))
    try:
        assert await fetch(pool, "/") == (200, b"ok", False)
        await eventually(lambda: all(c.closed for c in pool.idle), "the pool sees the close")
        assert await fetch(pool, "/") == (200, b"ok", False), "a new connection, not the closed one"
        assert len(answered) == 2
    finally:
        pool.close()


async def test_an_answer_delimited_by_the_close_arrives_whole_and_is_not_pooled(
    raw_server: Callable[[Handler], Awaitable[int]],
) -> None:
    async def old_style(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n")
        writer.write(b"until the end")
        await writer.drain()
        writer.close()

    pool = pool_for(await raw_server(old_style))
    try:
        assert await fetch(pool, "/") == (200, b"until the end", False)
        assert not pool.idle, "no length, no chunks: the connection ended with the answer"
    finally:
        pool.close()


async def test_a_hang_up_before_the_answer_and_a_broken_answer_are_told_apart(
    raw_server: Callable[[Handler], Awaitable[int]],
) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    async def short_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n01234")
        await writer.drain()
        writer.close()

    silent_pool = pool_for(await raw_server(hang_up))
    short_pool = pool_for(await raw_server(short_answer))
    try:
        with pytest.raises(Disconnected):  # the request may have been received: retried only if safe
            await fetch(silent_pool, "/")
        with pytest.raises(BadAnswer):
            await fetch(short_pool, "/")
        assert not silent_pool.idle and not short_pool.idle
    finally:
        silent_pool.close()
        short_pool.close()


async def test_a_service_that_never_answers_times_out(
    raw_server: Callable[[Handler], Awaitable[int]],
) -> None:
    release = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await release.wait()
        writer.close()

    pool = pool_for(await raw_server(silent))
    conn = await pool.connect()
    try:
        conn.send(request("/", pool.port))
        with pytest.raises(UpstreamTimeout):
            await conn.head(0.2)
    finally:
        pool.release(conn)
        release.set()
        pool.close()
    assert conn.closed, "a connection whose answer never came is not pooled"


async def test_the_pool_waits_for_a_free_slot_at_its_limit(gateway: Gateway) -> None:
    pool = pool_for(stand_in_port(gateway), limit=1)
    try:
        first = await pool.connect()
        second = asyncio.ensure_future(pool.connect())
        await asyncio.sleep(0)
        assert not second.done(), "the second connection waits while the first is busy"
        pool.release(first)  # never used: closed, and its slot handed on
        conn = await asyncio.wait_for(second, 30)
        pool.release(conn)
    finally:
        pool.close()


async def test_bytes_on_an_idle_connection_close_it(raw_server: Callable[[Handler], Awaitable[int]]) -> None:
    async def answer_then_babble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        await reader.read(1)  # the gateway's next move: it must not be a request on this connection
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nstale")
        await writer.drain()
        await reader.read()
        writer.close()

    pool = pool_for(await raw_server(answer_then_babble))
    try:
        assert await fetch(pool, "/") == (200, b"ok", False)
        idle = pool.idle[-1]
        assert idle.transport is not None
        idle.transport.write(b"\r\n")  # wakes the server up to send an answer nobody asked for
        await eventually(lambda: idle.closed, "the connection that spoke out of turn is closed")
        assert pool.reuse() is None, "and never reused"
    finally:
        pool.close()
