"""Run a service's ASGI app with uvicorn (uvloop + httptools), hardened for the network it faces.

- uvicorn's own access log is off: the chassis writes one line per request
  (``ObservabilityMiddleware``) with the request id, route, status and duration.

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
- An answer's head is written together with its first body bytes, one ``write`` (one ``send``
  syscall, one TCP segment on loopback) instead of uvicorn's two (``HeadWithBodyCycle``): the
  kernel's send path was the largest part of the gateway's profile (decision 0080). A head whose
  body is not sent in the same step of the app (a streamed answer still waiting for its first
  chunk) goes out alone on the event loop's next turn, as before; nothing else changes.
- ``access_token`` values never reach the log (WebSocket handshakes may carry one in the query).
- What exists once the app is built (modules, routes, models, compiled schemas: ~170k objects in
  core-crm) is moved out of the cyclic garbage collector's reach (``gc.freeze``) before serving.
  Under load, objects of requests in flight survive into the oldest generation and trigger a
  full collection about once a second; each one walked the whole heap and stopped the event loop
  for 100–150 ms (every request in flight waited), and takes 7–12 ms once the startup heap is
  frozen. Frozen objects are never freed, which is what objects built at startup are anyway.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn._types import ASGISendEvent
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

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


_COPY_ABOVE = 64 * 1024  # a body at least this long goes out by writelines (no copy into one buffer)


class HeadHolder:
    """The transport a connection's answers are written to: the answer's head is held until its
    body's first write, and both leave in one ``write``.

    One per connection (uvicorn's cycles only ``write``, ``close`` and ask ``is_closing``). A held
    head is written by the body's first write, by ``close``, by ``release`` (an answer without body
    bytes: HEAD), or on the loop's next turn when the app awaits between head and body.
    """

    __slots__ = ("_flush", "_head", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._head: bytes | None = None
        self._flush: asyncio.Handle | None = None

    def write(self, data: bytes) -> None:
        head = self._head
        if head is None:
            self._transport.write(data)
            return
        self._head = None
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        if len(data) < _COPY_ABOVE:
            self._transport.write(head + data)
        else:
            self._transport.writelines((head, data))

    def hold(self, head: bytes) -> None:
        """Keep ``head`` for the next write (uvicorn's head write, redirected here)."""
        self._head = head
        self._flush = self._loop.call_soon(self.release)

    def release(self) -> None:
        """Write a head still held (no body bytes followed it in the app's step)."""
        head = self._head
        if head is None:
            return
        self._head = None
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        if not self._transport.is_closing():
            self._transport.write(head)

    def close(self) -> None:
        self.release()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()


class _HeadCatcher:
    """Stands in for the transport while uvicorn writes an answer's head: hands it to the holder."""

    __slots__ = ("holder",)

    def __init__(self, holder: HeadHolder) -> None:
        self.holder = holder

    def write(self, data: bytes) -> None:
        self.holder.hold(data)

    def close(self) -> None:  # pragma: no cover - uvicorn never closes while writing a head
        self.holder.close()

    def is_closing(self) -> bool:  # pragma: no cover
        return self.holder.is_closing()


class HeadWithBodyCycle(RequestResponseCycle):
    """uvicorn's request/response cycle whose answer head leaves with the body's first bytes."""

    transport: HeadHolder  # type: ignore[assignment]
    catcher: _HeadCatcher

    async def send(self, message: ASGISendEvent) -> None:
        if self.response_started:
            await super().send(message)
            self.transport.release()  # HEAD writes no body: its head goes now
            return
        holder = self.transport
        self.transport = self.catcher  # type: ignore[assignment]
        try:
            await super().send(message)
        finally:
            self.transport = holder


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for each request's headers, writing each
    answer's head with its body (``HeadWithBodyCycle``)."""

    header_timeout: float = HEADER_TIMEOUT
    _header_timer: asyncio.TimerHandle | None = None
    _holder: HeadHolder
    _catcher: _HeadCatcher

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._holder = HeadHolder(transport, self.loop)
        self._catcher = _HeadCatcher(self._holder)
        self._arm_header_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:
            self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        previous = self.cycle
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle is not previous:  # a new request (not a WebSocket upgrade)
            cycle.__class__ = HeadWithBodyCycle  # created by uvicorn; its task has not run yet
            cycle.transport = self._holder  # type: ignore[assignment]
            cycle.catcher = self._catcher  # type: ignore[attr-defined]

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


def serve(app: FastAPI, settings: ServiceSettings, **options: Any) -> None:
    """Blocking: serve ``app`` on the service's host and port until SIGINT/SIGTERM."""
    server = uvicorn.Server(config(app, settings, **options))
    settle_heap()
    server.run()
