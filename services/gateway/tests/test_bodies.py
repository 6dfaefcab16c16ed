"""Request bodies: cut off at the limit while they arrive, streamed to the service, and slow
clients (headers or body) timed out. Raw sockets, so the test controls every byte and pause."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import httpx

from .conftest import Gateway

LIMIT = 1024 * 1024  # GATEWAY_MAX_BODY_BYTES in the test gateway


async def open_raw(gateway: Gateway) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    url = urlsplit(gateway.url)
    return await asyncio.open_connection(url.hostname, url.port)


async def read_head(reader: asyncio.StreamReader, within: float) -> bytes:
    """The response status line and headers, or b"" if the gateway closed without answering."""
    try:
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), within)
    except asyncio.IncompleteReadError as exc:
        return exc.partial


async def test_a_chunked_body_is_cut_off_with_413_as_soon_as_it_passes_the_limit(gateway: Gateway) -> None:
    reader, writer = await open_raw(gateway)
    token = gateway.token()
    writer.write(
        b"POST /api/crm/documents HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/octet-stream\r\nAuthorization: Bearer " + token.encode() + b"\r\n\r\n"
    )
    chunk = b"x" * 65536
    for _ in range(LIMIT // len(chunk) + 1):  # one chunk past the limit, then nothing more
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()
    started = time.monotonic()
    head = await read_head(reader, within=5)
    assert head.startswith(b"HTTP/1.1 413"), head
    assert time.monotonic() - started < 5
    assert b"connection: close" in head.lower()
    writer.close()


async def test_a_declared_oversized_body_is_refused_before_it_is_sent(gateway: Gateway) -> None:
    reader, writer = await open_raw(gateway)
    writer.write(
        b"POST /api/crm/documents HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 50000000\r\nAuthorization: "
        b"Bearer " + gateway.token().encode() + b"\r\n\r\n"
    )
    head = await read_head(reader, within=5)
    assert head.startswith(b"HTTP/1.1 413"), head
    writer.close()


def test_large_and_chunked_bodies_stream_to_the_service(gateway: Gateway) -> None:
    auth = gateway.auth(gateway.token())
    payload = b"y" * (LIMIT - 10)

    def parts() -> object:
        for i in range(0, len(payload), 100_000):
            yield payload[i : i + 100_000]

    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        declared = client.post("/api/crm/documents", content=payload, headers=auth).json()
        assert declared["body_length"] == len(payload)
        assert declared["headers"]["content-length"] == str(len(payload))
        chunked = client.post("/api/crm/documents", content=parts(), headers=auth).json()  # type: ignore[arg-type]
        assert chunked["body_length"] == len(payload)
        assert chunked["headers"]["transfer-encoding"] == "chunked"
        small = client.put("/api/crm/notes/1", json={"text": "hola"}, headers=auth).json()
        assert small["body_length"] == len(b'{"text":"hola"}')


async def test_slow_headers_are_timed_out(gateway: Gateway) -> None:
    reader, writer = await open_raw(gateway)
    writer.write(b"GET /api/crm/customers HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    started = time.monotonic()
    answer = b""
    while time.monotonic() - started < 8:  # one header byte every 0.2 s, never finishing
        writer.write(b"X")
        await writer.drain()
        try:
            answer = await asyncio.wait_for(reader.read(1024), 0.2)
        except TimeoutError:
            continue
        except ConnectionResetError:
            answer = b"reset"
        break
    elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408") or answer in (b"", b"reset"), answer
    assert elapsed < 5, f"the slow client held the connection for {elapsed:.1f}s"
    writer.close()


async def test_a_body_that_stops_arriving_is_timed_out(gateway: Gateway) -> None:
    reader, writer = await open_raw(gateway)
    writer.write(
        b"POST /api/crm/notes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\nAuthorization: Bearer " + gateway.token().encode() + b'\r\n\r\n{"a": '
    )
    await writer.drain()
    started = time.monotonic()
    head = await read_head(reader, within=8)
    assert head.startswith(b"HTTP/1.1 408"), head
    assert time.monotonic() - started < 5
    writer.close()


def test_a_streamed_response_arrives_whole(gateway: Gateway) -> None:
    resp = httpx.get(f"{gateway.url}/api/crm/stream?n=5", headers=gateway.auth(gateway.token()))
    assert resp.status_code == 200
    assert resp.text == "".join(f"part {i}\n" for i in range(5))
