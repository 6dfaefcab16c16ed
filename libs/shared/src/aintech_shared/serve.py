"""Run a service's ASGI app with uvicorn (uvloop + httptools), hardened for the network it faces.

- uvicorn's own access log is off: the chassis writes one line per request
  (``ObservabilityMiddleware``) with the request id, route, status and duration, through the
  log writer's queue (``aintech_shared.logging``), drained to the stream when the server stops.

- No ``server`` banner.
- uvicorn's proxy-headers handling is off: it would replace the connection's peer with the
  X-Forwarded-For client before the app runs, and the app could then no longer tell that the
  request came through a trusted proxy (a signed Twilio webhook from any client but 127.0.0.1 was
  refused). ``scope["client"]`` stays the TCP peer; ``aintech_shared.proxies`` decides, from each
  service's ``trusted_proxies``, which forwarding headers to believe.
- Keep-alive connections idle for ``KEEPALIVE_TIMEOUT`` (75 s) before the server closes them: longer
  than the gateway's pool keeps an idle connection (``GATEWAY_UPSTREAM_KEEPALIVE``, 15 s), so the
  gateway never sends a request on a connection the service is closing at that very moment.
- A client gets ``header_timeout`` seconds to send a request's headers, from the moment it
  connects or starts the request (408 and the connection closed): uvicorn itself has no such
  limit, so a client trickling header bytes ("slowloris") would hold a connection forever.
- ``access_token`` values never reach the log (WebSocket handshakes may carry one in the query).
- What exists once the app is built (modules, routes, models, compiled schemas: ~170k objects in
  core-crm) is moved out of the cyclic garbage collector's reach (``gc.freeze``) before serving.
  Under load, objects of requests in flight survive into the oldest generation and trigger a
  full collection about once a second; each one walked the whole heap and stopped the event loop
  for 100–150 ms (every request in flight waited), and takes 7–12 ms once the startup heap is
  frozen. Frozen objects are never freed, which is what objects built at startup are anyway.
- The server's own loop turns once a second (``QuietServer``), not ten times: uvicorn's
  ``main_loop`` sleeps 0.1 s between looks at ``should_exit``, which in an idle fleet of nine API
  processes was most of their CPU. Each turn refreshes the Date header (as uvicorn's tenth tick
  does) and ``should_exit`` — set by SIGTERM/SIGINT — wakes the loop at once, so a graceful
  shutdown starts as promptly as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import re
from collections.abc import Generator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from aintech_shared.logging import shutdown_logging
from aintech_shared.settings import ServiceSettings

KEEPALIVE_TIMEOUT = 75
HEADER_TIMEOUT = 10.0
_TIMEOUT_BODY = (
    b'{"type":"https://docs.aintech.local/problems/request-timeout","title":"Request Timeout",'
    b'"status":408,"detail":"The request headers took too long to arrive."}'
)
REQUEST_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/problem+json\r\nconnection: close\r\n"
    b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n\r\n" + _TIMEOUT_BODY
)
_TOKEN_IN_URL = re.compile(r"(access_token=)[^&\s\"']+")


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for each request's headers."""

    header_timeout: float = HEADER_TIMEOUT
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:
            self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:  # not inside a request being answered
            self.transport.write(REQUEST_TIMEOUT_RESPONSE)
            self.transport.close()


class QuietServer(uvicorn.Server):
    """uvicorn's server with a main loop that turns once a second, woken at once to exit.

    ``should_exit`` is a property: setting it (uvicorn's signal handler does, from the main thread
    between two bytecodes, possibly while the loop waits in epoll) wakes the loop through
    ``call_soon_threadsafe``, which writes to the loop's self-pipe.
    """

    TURN = 1.0

    def __init__(self, config: uvicorn.Config) -> None:
        self._exit_requested = False
        self._exit: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        super().__init__(config)

    @property
    def should_exit(self) -> bool:
        return self._exit_requested

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._exit_requested = value
        if value and self._loop is not None and self._exit is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._exit.set)

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._exit = asyncio.Event()
        if self._exit_requested:
            self._exit.set()
        turns = 0
        while not await self.on_tick(turns):
            turns += 10  # uvicorn refreshes its Date header on every tenth tick: on each turn here
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit.wait(), timeout=self.TURN)


class RedactTokens(logging.Filter):
    """Replace ``access_token=<value>`` in a log record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "access_token=" in record.msg:
            record.msg = _TOKEN_IN_URL.sub(r"\1[redacted]", record.msg)
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(
                _TOKEN_IN_URL.sub(r"\1[redacted]", a) if isinstance(a, str) and "access_token=" in a else a
                for a in args
            )
        return True


def protocol_with_header_timeout(seconds: float) -> type[HeaderTimeoutProtocol]:
    """The protocol class uvicorn instantiates per connection, with ``seconds`` as header deadline."""
    return type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"header_timeout": seconds})


def config(
    app: FastAPI, settings: ServiceSettings, *, header_timeout: float = HEADER_TIMEOUT, **options: Any
) -> uvicorn.Config:
    """The uvicorn configuration every service runs with; ``options`` override (e.g. WebSocket pings)."""
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
    values: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,
        "proxy_headers": False,  # the peer stays the peer: see aintech_shared.proxies
        "timeout_graceful_shutdown": 10,
        "timeout_keep_alive": KEEPALIVE_TIMEOUT,
        "loop": "uvloop",
        "server_header": False,
        "http": protocol_with_header_timeout(header_timeout),
        **options,
    }
    return uvicorn.Config(app, **values)


def settle_heap() -> int:
    """Collect garbage once, then freeze what survives (see the module docstring); returns how
    many objects the collector will no longer walk."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class Server(QuietServer):
    """The quiet server, draining the log writer's queue after the graceful shutdown: uvicorn then
    raises the SIGTERM it caught again, and the process ends without running ``atexit``."""

    @contextmanager
    def capture_signals(self) -> Generator[None]:
        with super().capture_signals():
            try:
                yield
            finally:
                shutdown_logging()


def serve(app: FastAPI, settings: ServiceSettings, **options: Any) -> None:
    """Blocking: serve ``app`` on the service's host and port until SIGINT/SIGTERM."""
    server = Server(config(app, settings, **options))
    settle_heap()
    try:
        server.run()
    finally:
        shutdown_logging()  # what the graceful shutdown logged reaches the stream before exit
