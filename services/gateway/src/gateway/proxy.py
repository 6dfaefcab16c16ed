"""Forwarding: method, path, query, headers and body go to the service; its answer comes back.

One pooled aiohttp client (measured far faster than httpx on this path; see docs/decisions/0003).
Request bodies up to ``buffer_body_bytes`` are read whole (and can be retried); larger or chunked
ones stream to the service as they arrive, counted against ``max_body_bytes`` and the body
timeouts. Responses stream back unless small. Retries are limited to what is safe: a request
whose connection never opened is retried once, and aiohttp itself retries an idempotent request
once when a reused keep-alive connection turns out closed (RFC 9112 §9.3.1).

Plain requests (a body held whole or none; not HEAD) go through the lean client of
:mod:`gateway.upstream_http` with the same rules; streamed uploads and HEAD stay on aiohttp
(decision 0067).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import structlog
from multidict import CIMultiDict
from starlette.types import Receive, Scope, Send
from yarl import URL

from aintech_shared.context import outgoing_headers
from aintech_shared.edge import IDENTITY_HEADER
from aintech_shared.proxies import TrustedProxies
from gateway.answers import refuse
from gateway.settings import Settings
from gateway.upstream_http import (
    ConnectFailed,
    Connection,
    Disconnected,
    UpstreamError,
    UpstreamPool,
    UpstreamTimeout,
)
from gateway.upstreams import Routes, Target

log = structlog.get_logger("gateway.proxy")

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
        b"expect",
    }
)
# Never taken from a client: the gateway sets them (or they describe a proxy hop it did not make).
CLIENT_STRIPPED = frozenset(
    {
        IDENTITY_HEADER.encode(),
        b"forwarded",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-forwarded-prefix",
        b"x-forwarded-port",
        b"x-real-ip",
        b"x-request-id",
        b"x-correlation-id",
    }
)
_REQUEST_SKIP = HOP_BY_HOP | CLIENT_STRIPPED
# Set by the gateway itself on the way out (or its policy alone decides them).
_RESPONSE_SKIP = HOP_BY_HOP | {b"date", b"server", b"x-request-id", b"x-correlation-id"}
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})  # sent with ``Content-Length: 0`` when empty
_IDENTITY = IDENTITY_HEADER.lower().encode()
_SMALL_RESPONSE = 1024 * 1024
_CONNECT_ERRORS = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)


class BodyRefused(Exception):
    """The client's body broke a limit while it was being read (413) or came too slowly (408)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class ClientGone(Exception):
    """The client disconnected before its body was complete."""


class BodyReader:
    """Reads the ASGI request body with the size limit and the idle and total timeouts."""

    def __init__(self, receive: Receive, settings: Settings) -> None:
        self.receive = receive
        self.limit = settings.max_body_bytes
        self.idle = settings.body_idle_timeout
        self.deadline = time.monotonic() + settings.body_timeout
        self.received = 0
        self.started = False
        self.done = False

    async def chunks(self) -> AsyncIterator[bytes]:
        self.started = True
        while not self.done:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise BodyRefused(408, "The request body took too long to arrive.")
            try:
                message = await asyncio.wait_for(self.receive(), min(self.idle, remaining))
            except TimeoutError:
                raise BodyRefused(408, "The request body stopped arriving.") from None
            if message["type"] == "http.disconnect":
                raise ClientGone()
            chunk = message.get("body", b"")
            self.received += len(chunk)
            if self.received > self.limit:
                raise BodyRefused(413, f"The request body exceeds the {self.limit} byte limit.")
            self.done = not message.get("more_body", False)
            if chunk:
                yield chunk

    async def read(self) -> bytes:
        parts = [chunk async for chunk in self.chunks()]
        return parts[0] if len(parts) == 1 else b"".join(parts)


class StreamedBody:
    """The body as aiohttp sends it: the reader's chunks, with what went wrong kept for the answer."""

    def __init__(self, reader: BodyReader) -> None:
        self.reader = reader
        self.error: BodyRefused | ClientGone | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.reader.chunks():
                yield chunk
        except (BodyRefused, ClientGone) as exc:
            self.error = exc
            raise


class Forwarder:
    """Keeps one pooled aiohttp client for every service."""

    def __init__(self, settings: Settings, proxies: TrustedProxies | None = None) -> None:
        self.settings = settings
        self.routes = Routes(settings)
        self.proxies = proxies or TrustedProxies(settings.trusted_proxies)
        self._session: aiohttp.ClientSession | None = None
        self._pools: dict[str, UpstreamPool] = {}
        self.timeout = aiohttp.ClientTimeout(
            total=None, connect=settings.connect_timeout, sock_read=settings.read_timeout
        )

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=self.settings.max_connections,
            keepalive_timeout=self.settings.upstream_keepalive,
            ttl_dns_cache=60,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        )
        for upstream in self.routes.upstreams.values():
            base = URL(upstream.base_url)
            if base.scheme != "http" or base.host is None or base.port is None:
                continue  # the lean client speaks plain HTTP/1.1 only; the rest stays on aiohttp
            self._pools[upstream.base_url] = UpstreamPool(
                base.host,
                base.port,
                connect_timeout=self.settings.connect_timeout,
                keepalive=self.settings.upstream_keepalive,
                limit=self.settings.max_connections,
            )

    async def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "forwarder not started"
        return self._session

    def upstream_headers(
        self, scope: Scope, target: Target, identity: str | None
    ) -> tuple[list[tuple[bytes, bytes]], int | None, bool]:
        """Headers for the service, plus the declared Content-Length and whether the body is chunked."""
        headers: list[tuple[bytes, bytes]] = []
        length: int | None = None
        chunked = False
        nominated: set[bytes] | None = None
        host = prior_for = proto = forwarded_host = ""
        for name, value in scope["headers"]:
            if name in _REQUEST_SKIP:
                if name == b"content-length":
                    length = int(value) if value.isdigit() else -1
                elif name == b"transfer-encoding":
                    chunked = True
                elif name == b"host":
                    host = value.decode("latin-1")
                elif name == b"x-forwarded-for":
                    prior_for = value.decode("latin-1")
                elif name == b"x-forwarded-proto":
                    proto = value.decode("latin-1")
                elif name == b"x-forwarded-host":
                    forwarded_host = value.decode("latin-1")
                elif name == b"connection":
                    nominated = nominated or set()
                    nominated.update(t.strip().lower().encode() for t in value.decode("latin-1").split(","))
                continue
            headers.append((name.lower(), value))
        if nominated:  # headers the client marked hop-by-hop (RFC 9110 §7.6.1)
            headers = [header for header in headers if header[0] not in nominated]
        peer = scope["client"][0] if scope.get("client") else ""
        trusted = self.proxies.trusted(peer)
        forwarded_proto = (proto.split(",")[0].strip() if trusted and proto else "") or scope.get(
            "scheme", "http"
        )
        headers.append((b"x-forwarded-for", self.proxies.forwarded_for(peer, prior_for).encode("latin-1")))
        headers.append((b"x-forwarded-proto", forwarded_proto.encode("latin-1")))
        public_host = (forwarded_host.split(",")[0].strip() if trusted else "") or host
        headers.append((b"x-forwarded-host", public_host.encode("latin-1")))
        if target.prefix:
            headers.append((b"x-forwarded-prefix", target.prefix.encode("latin-1")))
        outgoing = outgoing_headers()
        if "traceparent" in outgoing:  # the gateway's span replaces the caller's as the parent
            headers = [header for header in headers if header[0] != b"traceparent"]
        for name, text in outgoing.items():
            headers.append((name.lower().encode("latin-1"), text.encode("latin-1")))
        if identity is not None:
            headers.append((_IDENTITY, identity.encode("latin-1")))
        return headers, length, chunked

    async def forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        target: Target,
        *,
        identity: str | None = None,
        extra_headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """Forward one HTTP request and stream the service's answer back."""
        settings = self.settings
        headers, length, chunked = self.upstream_headers(scope, target, identity)
        if length is not None and length > settings.max_body_bytes:
            await self._refuse(
                scope,
                receive,
                send,
                413,
                f"The request body exceeds the {settings.max_body_bytes} byte limit.",
                close=True,
            )
            return
        if length == -1:
            await self._refuse(scope, receive, send, 400, "Invalid Content-Length.", close=True)
            return
        method = scope["method"]
        body: bytes | StreamedBody | None = None
        reader = BodyReader(receive, settings)
        try:
            if chunked or (length is not None and length > settings.buffer_body_bytes):
                body = StreamedBody(reader)
                if length is not None:
                    headers.append((b"content-length", str(length).encode()))
            elif length:
                body = await reader.read()
                if len(body) != length:
                    raise BodyRefused(400, "The request body does not match its Content-Length.")
        except BodyRefused as exc:
            await self._refuse(scope, receive, send, exc.status, exc.detail, close=True)
            return
        except ClientGone:
            return
        pool = self._pools.get(target.upstream.base_url)
        if pool is not None and method != "HEAD" and not isinstance(body, StreamedBody):
            await self._forward_lean(scope, receive, send, target, pool, headers, body, extra_headers)
            return
        query = scope.get("query_string", b"")
        url = URL(
            target.upstream.base_url + target.path + ("?" + query.decode("latin-1") if query else ""),
            encoded=True,
        )
        service = target.upstream.spec.slug
        started: list[bool] = []  # set once the answer's head went to the client
        for attempt in (1, 2):
            try:
                async with self.session.request(
                    method,
                    url,
                    headers=CIMultiDict((n.decode("latin-1"), v.decode("latin-1")) for n, v in headers),
                    data=body,
                    allow_redirects=False,
                    timeout=self.timeout,
                ) as upstream:
                    await self._relay(scope, send, target, upstream, extra_headers, started)
                    return
            except (aiohttp.ClientError, asyncio.IncompleteReadError, TimeoutError) as exc:
                error = body.error if isinstance(body, StreamedBody) else None
                if isinstance(error, ClientGone):
                    return
                if isinstance(error, BodyRefused):
                    await self._refuse(scope, receive, send, error.status, error.detail, close=True)
                    return
                if started:  # the answer is half sent: all that is left is to cut the connection
                    log.warning(
                        "upstream_broke_mid_answer", service=service, path=target.path, error=repr(exc)
                    )
                    return
                never_sent = isinstance(exc, _CONNECT_ERRORS)
                replayable = not (isinstance(body, StreamedBody) and reader.started)
                if never_sent and attempt == 1 and replayable:
                    log.info("upstream_connect_retry", service=service, error=repr(exc))
                    continue
                timed_out = isinstance(exc, TimeoutError) and not never_sent
                await self._upstream_failed(
                    scope, receive, send, target, exc, timed_out, settings.read_timeout
                )
                return

    async def _upstream_failed(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        target: Target,
        exc: BaseException,
        timed_out: bool,
        waited: float,
    ) -> None:
        """Answer a request no service answered: 504 when it stopped answering, 502 otherwise."""
        service = target.upstream.spec.slug
        if timed_out:
            log.warning("upstream_timeout", service=service, path=target.path)
            detail = f"The {service} service did not answer within {waited:g}s."
            await self._refuse(scope, receive, send, 504, detail, title="Service timed out", service=service)
            return
        log.warning("upstream_unavailable", service=service, path=target.path, error=repr(exc))
        detail = f"The {service} service could not be reached."
        await self._refuse(scope, receive, send, 502, detail, title="Service unavailable", service=service)

    async def _forward_lean(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        target: Target,
        pool: UpstreamPool,
        headers: list[tuple[bytes, bytes]],
        body: bytes | None,
        extra_headers: list[tuple[bytes, bytes]] | None,
    ) -> None:
        """Forward a request whose body is held whole (or absent) on a pooled keep-alive connection."""
        method: str = scope["method"]
        query = scope.get("query_string", b"")
        parts = [method.encode("latin-1"), b" ", target.path.encode("latin-1")]
        if query:
            parts += (b"?", query)
        parts += (b" HTTP/1.1\r\n", pool.host_line)
        for name, value in headers:
            parts += (name, b": ", value, b"\r\n")
        if body:
            parts += (b"content-length: ", str(len(body)).encode(), b"\r\n\r\n", body)
        elif method in _WITH_BODY:
            parts.append(b"content-length: 0\r\n\r\n")
        else:
            parts.append(b"\r\n")
        request = b"".join(parts)
        timeout = self.settings.read_timeout
        started: list[bool] = []
        for attempt in (1, 2):
            conn: Connection | None = None
            try:
                conn = pool.reuse() if attempt == 1 else None
                if conn is None:
                    conn = await pool.connect()
                conn.send(request)
                await conn.head(timeout)
                await self._relay_lean(scope, send, target, conn, extra_headers, started)
                return
            except UpstreamError as exc:
                service = target.upstream.spec.slug
                if started:  # the answer is half sent: all that is left is to cut the connection
                    log.warning(
                        "upstream_broke_mid_answer", service=service, path=target.path, error=repr(exc)
                    )
                    return
                if attempt == 1 and isinstance(exc, ConnectFailed):
                    log.info("upstream_connect_retry", service=service, error=repr(exc))
                    continue
                if attempt == 1 and isinstance(exc, Disconnected) and method in _IDEMPOTENT:
                    log.info("upstream_retry", service=service, error=repr(exc))
                    continue
                timed_out = isinstance(exc, UpstreamTimeout)
                await self._upstream_failed(scope, receive, send, target, exc, timed_out, timeout)
                return
            finally:
                if conn is not None:
                    pool.release(conn)

    async def _relay_lean(
        self,
        scope: Scope,
        send: Send,
        target: Target,
        conn: Connection,
        extra_headers: list[tuple[bytes, bytes]] | None,
        started: list[bool],
    ) -> None:
        raw: list[tuple[bytes, bytes]] = []
        size: bytes | None = None
        for name, value in conn.headers:
            lowered = name.lower()
            if lowered in _RESPONSE_SKIP or lowered.startswith(b"access-control-"):
                if lowered == b"content-length":
                    size = value.strip()
                continue
            if lowered == b"location":
                value = self.public_location(value, target)
            raw.append((lowered, value))
        if extra_headers:
            raw.extend(extra_headers)
        status = conn.status
        timeout = self.settings.read_timeout
        if status == 204 or status == 304:
            if size is not None:
                raw.append((b"content-length", size))
            await send({"type": "http.response.start", "status": status, "headers": raw})
            await send({"type": "http.response.body", "body": b""})
            return
        if size is not None and int(size) <= _SMALL_RESPONSE:
            content = await conn.read(timeout)
            raw.append((b"content-length", size))
            await send({"type": "http.response.start", "status": status, "headers": raw})
            await send({"type": "http.response.body", "body": content})
            return
        if size is not None:
            raw.append((b"content-length", size))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        started.append(True)
        async for chunk in conn.chunks(timeout):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def _relay(
        self,
        scope: Scope,
        send: Send,
        target: Target,
        upstream: aiohttp.ClientResponse,
        extra_headers: list[tuple[bytes, bytes]] | None,
        started: list[bool],
    ) -> None:
        raw: list[tuple[bytes, bytes]] = []
        for name, value in upstream.raw_headers:
            lowered = name.lower()
            if lowered in _RESPONSE_SKIP or lowered.startswith(b"access-control-"):
                continue
            if lowered == b"location":
                value = self.public_location(value, target)
            raw.append((lowered, value))
        if extra_headers:
            raw.extend(extra_headers)
        size = upstream.content_length
        if scope["method"] == "HEAD" or upstream.status in (204, 304):
            if size is not None:
                raw.append((b"content-length", str(size).encode()))
            await send({"type": "http.response.start", "status": upstream.status, "headers": raw})
            await send({"type": "http.response.body", "body": b""})
            return
        if size is not None and size <= _SMALL_RESPONSE:
            content = await upstream.read()
            raw.append((b"content-length", str(len(content)).encode()))
            await send({"type": "http.response.start", "status": upstream.status, "headers": raw})
            await send({"type": "http.response.body", "body": content})
            return
        if size is not None:
            raw.append((b"content-length", str(size).encode()))
        await send({"type": "http.response.start", "status": upstream.status, "headers": raw})
        started.append(True)
        async for chunk in upstream.content.iter_any():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    def public_location(self, value: bytes, target: Target) -> bytes:
        """A service's redirect as the client must see it: never an internal address.

        ``Location: http://<service>/me`` and ``Location: /me`` both become ``/api/<route>/me``;
        absolute URLs elsewhere (an OAuth provider) and relative references pass unchanged.
        """
        location = value.decode("latin-1")
        if location.startswith("/") and not location.startswith("//"):
            return (target.prefix + location).encode("latin-1")
        try:
            parsed = URL(location)
        except ValueError:
            return b"/"
        if parsed.host is not None and self._internal_host(parsed):
            return (target.prefix + parsed.raw_path_qs).encode("latin-1")
        return value

    def _internal_host(self, url: URL) -> bool:
        """Whether an absolute URL points at a service of the fleet rather than the outside world."""
        for upstream in self.routes.upstreams.values():
            base = URL(upstream.base_url)
            if url.host == base.host and url.port == base.port:
                return True
        return url.host in ("127.0.0.1", "localhost", "::1", "0.0.0.0")

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        detail: str,
        *,
        close: bool = False,
        title: str | None = None,
        service: str | None = None,
    ) -> None:
        extra: dict[str, Any] = {"service": service} if service else {}
        await refuse(scope, receive, send, status, detail, title=title, close=close, **extra)
