"""A lean keep-alive HTTP/1.1 client for the gateway's plain forwarded requests.

Why not aiohttp here: on a forwarded read aiohttp's client request was ~18% of the gateway's CPU
(``ClientRequest`` construction, header merging into multidicts, its writer and response parser,
decision 0067). This client does only what forwarding needs: one pool of keep-alive connections
per service, each an :class:`asyncio.Protocol` whose answer is parsed by ``httptools`` (llhttp, the
parser uvicorn already uses), the request written as one pre-assembled buffer of bytes.

It carries plain requests with a body the gateway holds whole (or none), not HEAD (llhttp would
wait for the body a HEAD answer announces but never sends), streamed uploads, WebSockets or the
gateway's own calls (readiness, OpenAPI): those stay on aiohttp.

Keep-alive: a connection goes back to the pool only after a complete answer that allows it
(no ``Connection: close``, not delimited by the close); an idle connection is dropped when the
service closes it and is never reused once idle for ``keepalive`` seconds, shorter than the
services' own idle deadline (decision 0046), so a request is never written on a connection the
service is closing for idleness.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator

import httptools

_HIGH_WATER = 256 * 1024  # buffered answer bytes above which a streamed answer pauses the socket


class UpstreamError(Exception):
    """The service could not give a complete answer."""


class ConnectFailed(UpstreamError):
    """No connection could be opened: nothing was sent (always safe to retry)."""


class Disconnected(UpstreamError):
    """The connection closed before any byte of the answer (the request may have been received)."""


class UpstreamTimeout(UpstreamError, TimeoutError):
    """The service stopped answering for longer than the read timeout."""


class BadAnswer(UpstreamError):
    """The answer broke off, or was not HTTP/1.1 the parser accepts."""


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(UpstreamTimeout())


class Connection(asyncio.Protocol):
    """One keep-alive connection to a service; one request at a time."""

    def __init__(self, pool: UpstreamPool) -> None:
        self.pool = pool
        self.loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.idle_since = 0.0
        self.in_use = False  # a request was written and its answer not yet released
        self.waiter: asyncio.Future[None] | None = None
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.buffered = 0
        self.head_done = False
        self.complete = False
        self.error: BaseException | None = None
        self.keep_alive = False
        self.until_close = False  # the answer ends when the service closes the connection
        self.streaming = False
        self.paused = False
        self.informational = False

    # --- asyncio.Protocol ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.head_done and self.until_close and not self.complete and self.error is None:
            self.complete = True
        elif not self.complete and self.error is None:
            self.error = exc or ConnectionResetError("the service closed the connection")
        self._wake()

    def data_received(self, data: bytes) -> None:
        if not self.in_use:  # nothing was asked: bytes on an idle connection cannot be trusted
            self.close()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.error = exc
            self.close()
            self._wake()

    # --- httptools callbacks ---------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:  # 1xx: an interim answer, the real one follows
            self.informational = True
            self.headers = []
            return
        self.status = status
        self.keep_alive = self.parser.should_keep_alive()
        self.head_done = True
        if status != 204 and status != 304:
            for name, _ in self.headers:
                if len(name) in (14, 17) and name.lower() in (b"content-length", b"transfer-encoding"):
                    break
            else:
                self.until_close = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)
        self.buffered += len(body)
        if self.streaming:
            if self.buffered > _HIGH_WATER and not self.paused and self.transport is not None:
                self.paused = True
                self.transport.pause_reading()
            self._wake()

    def on_message_complete(self) -> None:
        if self.informational:
            self.informational = False
            return
        self.complete = True
        self._wake()

    # --- the request -----------------------------------------------------------------------------
    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self, idle: float) -> None:
        """Until the protocol has news; :class:`UpstreamTimeout` after ``idle`` seconds without."""
        waiter = self.waiter = self.loop.create_future()
        timer = self.loop.call_later(idle, _expire, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self.waiter = None

    def send(self, data: bytes) -> None:
        self._reset()
        self.in_use = True
        assert self.transport is not None
        self.transport.write(data)

    async def head(self, idle: float) -> None:
        """Wait for the status line and headers of the answer."""
        while not self.head_done:
            if self.error is not None:
                if isinstance(self.error, httptools.HttpParserError):
                    raise BadAnswer(f"unreadable answer: {self.error}")
                raise Disconnected(repr(self.error))
            await self._wait(idle)

    async def read(self, idle: float) -> bytes:
        """The whole body of the answer."""
        while not self.complete:
            if self.error is not None:
                raise BadAnswer(f"the answer broke off: {self.error!r}")
            await self._wait(idle)
        body = self.body
        return body[0] if len(body) == 1 else b"".join(body)

    async def chunks(self, idle: float) -> AsyncIterator[bytes]:
        """The body of the answer as it arrives (the socket paused while the client is behind)."""
        self.streaming = True
        while True:
            if self.body:
                data = self.body[0] if len(self.body) == 1 else b"".join(self.body)
                self.body = []
                self.buffered = 0
                if self.paused and self.transport is not None:
                    self.paused = False
                    self.transport.resume_reading()
                yield data
                continue
            if self.complete:
                return
            if self.error is not None:
                raise BadAnswer(f"the answer broke off: {self.error!r}")
            await self._wait(idle)

    def reusable(self) -> bool:
        return self.complete and self.keep_alive and not self.until_close and not self.closed

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class UpstreamPool:
    """Keep-alive connections to one service (``host:port``), most recently used first."""

    def __init__(self, host: str, port: int, *, connect_timeout: float, keepalive: float, limit: int) -> None:
        self.host = host
        self.port = port
        authority = host if port == 80 else f"{host}:{port}"
        self.host_line = f"host: {authority}\r\n".encode("idna")
        self.connect_timeout = connect_timeout
        self.keepalive = keepalive
        self.limit = limit
        self.idle: deque[Connection] = deque()
        self.busy = 0
        self.waiting: deque[asyncio.Future[None]] = deque()
        self.loop = asyncio.get_running_loop()

    def reuse(self) -> Connection | None:
        """An idle connection still safe to write on, or ``None``."""
        idle = self.idle
        while idle:
            conn = idle.pop()
            if conn.closed or time.monotonic() - conn.idle_since >= self.keepalive:
                conn.close()
                continue
            self.busy += 1
            return conn
        return None

    async def connect(self) -> Connection:
        """A new connection (waiting for a free slot when ``limit`` connections are busy)."""
        while self.busy + len(self.idle) >= self.limit:
            if self.idle:
                self.idle.popleft().close()
                continue
            waiter = self.loop.create_future()
            self.waiting.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self.waiting:
                    self.waiting.remove(waiter)
        self.busy += 1
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, conn = await self.loop.create_connection(lambda: Connection(self), self.host, self.port)
        except (OSError, TimeoutError) as exc:
            self._free()
            raise ConnectFailed(f"cannot connect to {self.host}:{self.port}: {exc!r}") from exc
        except BaseException:
            self._free()
            raise
        return conn

    def release(self, conn: Connection) -> None:
        """Back to the pool if its answer was complete and the service keeps it open; else closed."""
        self._free()
        conn.in_use = False
        if conn.reusable():
            now = time.monotonic()
            conn.idle_since = now
            idle = self.idle
            while idle and (idle[0].closed or now - idle[0].idle_since >= self.keepalive):
                idle.popleft().close()
            idle.append(conn)
        else:
            conn.close()

    def _free(self) -> None:
        self.busy -= 1
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                break

    def close(self) -> None:
        while self.idle:
            self.idle.pop().close()
