"""A service's failure stays with the request that caused it: the pooled connections stay healthy.

Before the fix, a 500 from a service left its keep-alive connection in the gateway's pool while
uvicorn closed it (the exception escaped the app after the response was sent, with the request
body unread): the next request forwarded on it, from any client, got 502 (ECONNRESET).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator

import aiohttp
import pytest

from aintech_contracts.fleet import BY_NAME
from aintech_shared.serve import KEEPALIVE_TIMEOUT
from gateway.settings import Settings

from .conftest import Gateway


async def test_an_upstream_500_never_breaks_another_clients_request(gateway: Gateway) -> None:
    gw = gateway
    failing_auth = gw.auth(gw.token())
    healthy_auth = gw.auth(gw.token())
    failing: collections.Counter[int] = collections.Counter()
    healthy: collections.Counter[int] = collections.Counter()

    async def fail(session: aiohttp.ClientSession) -> None:
        for _ in range(100):
            async with session.post(f"{gw.url}/api/crm/boom", data=b"x" * 4096, headers=failing_auth) as resp:
                await resp.read()
                failing[resp.status] += 1

    async def succeed(session: aiohttp.ClientSession, worker: int) -> None:
        for i in range(100):
            async with session.post(
                f"{gw.url}/api/crm/notes", json={"worker": worker, "i": i}, headers=healthy_auth
            ) as resp:
                await resp.read()
                healthy[resp.status] += 1

    async with aiohttp.ClientSession() as one, aiohttp.ClientSession() as two:
        await asyncio.gather(*(fail(one) for _ in range(4)), *(succeed(two, w) for w in range(4)))

    assert healthy == {200: 400}, f"healthy requests saw {dict(healthy)}"
    assert failing == {500: 400}, f"the service's own 500 is what its caller sees: {dict(failing)}"


def test_services_keep_idle_connections_longer_than_the_gateway_pool_does() -> None:
    """Otherwise a request can be sent on a connection the service is closing for idleness."""
    assert Settings().upstream_keepalive < KEEPALIVE_TIMEOUT


@pytest.fixture
async def hang_up_server(gateway: Gateway) -> AsyncIterator[list[str]]:
    """Plays the scraper: reads each request, then closes the connection without answering."""
    gw = gateway
    seen: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head.split(b" ", 1)[0].decode())
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", BY_NAME["scraper"].port + gw.offset)
    try:
        yield seen
    finally:
        server.close()
        await server.wait_closed()


async def test_only_idempotent_requests_are_retried_after_a_dropped_connection(
    gateway: Gateway, hang_up_server: list[str]
) -> None:
    gw = gateway
    headers = gw.auth(gw.token())
    async with aiohttp.ClientSession() as client:
        async with client.post(f"{gw.url}/api/scraper/jobs", json={"a": 1}, headers=headers) as resp:
            assert resp.status == 502
        assert hang_up_server.count("POST") == 1, "a POST that may have been received is never replayed"
        async with client.get(f"{gw.url}/api/scraper/jobs", headers=headers) as resp:
            assert resp.status == 502
            assert resp.headers["content-type"] == "application/problem+json"
        assert hang_up_server.count("GET") == 2, "a GET is retried once on a fresh connection"


@pytest.fixture
async def dies_mid_answer(gateway: Gateway) -> AsyncIterator[None]:
    """Plays quote-engine: announces a 2 MB answer, sends 10 bytes of it, and hangs up."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2000000\r\n\r\n0123456789"
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", BY_NAME["quote_engine"].port + gateway.offset)
    try:
        yield
    finally:
        server.close()
        await server.wait_closed()


async def test_a_service_dying_mid_answer_cuts_that_answer_off_and_nothing_else(
    gateway: Gateway, dies_mid_answer: None
) -> None:
    headers = gateway.auth(gateway.token())
    async with aiohttp.ClientSession() as client:
        async with client.get(f"{gateway.url}/api/quotes/rates", headers=headers) as resp:
            assert resp.status == 200
            with pytest.raises(aiohttp.ClientPayloadError):
                await resp.read()  # the client learns the answer is incomplete
        async with client.get(f"{gateway.url}/api/crm/customers", headers=headers) as resp:
            assert resp.status == 200, "the gateway carries on"
    log = gateway.log_text()
    assert "upstream_broke_mid_answer" in log, "ops see what happened, as a warning"
    assert "Exception in ASGI application" not in log, "and no crash traceback"
