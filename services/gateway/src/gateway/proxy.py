"""Forwarding: method, path, query, headers and body go to the service; its answer comes back."""

from __future__ import annotations

import asyncio
import ipaddress

import aiohttp
import structlog
from multidict import CIMultiDict
from starlette.requests import Request
from starlette.responses import Response

from aintech_shared.context import outgoing_headers
from aintech_shared.errors import problem
from gateway.settings import Settings
from gateway.upstreams import Routes, Target

log = structlog.get_logger("gateway.proxy")

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
# Set by the gateway itself on the way out.
_RESPONSE_SKIP = HOP_BY_HOP | {"date", "server", "x-request-id", "x-correlation-id"}


class Forwarder:
    """Keeps one pooled aiohttp client (measured faster than httpx on this path; see make bench)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.routes = Routes(settings)
        self._trusted_networks = [ipaddress.ip_network(n, strict=False) for n in settings.trusted_proxies]
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=self.settings.max_connections, keepalive_timeout=30, ttl_dns_cache=60
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "forwarder not started"
        return self._session

    def _trusted(self, ip: str) -> bool:
        """Whether ``ip`` is a proxy in front of the gateway (its X-Forwarded-For is kept)."""
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in network for network in self._trusted_networks)

    def _forward_headers(self, request: Request, target: Target) -> CIMultiDict[str]:
        headers: CIMultiDict[str] = CIMultiDict()
        for name, value in request.headers.items():
            if name not in HOP_BY_HOP:
                headers.add(name, value)
        client_ip = request.client.host if request.client else ""
        prior = request.headers.get("x-forwarded-for")
        if prior and self._trusted(client_ip):
            headers["X-Forwarded-For"] = f"{prior}, {client_ip}"
        else:
            headers["X-Forwarded-For"] = client_ip
        headers["X-Forwarded-Proto"] = request.headers.get("x-forwarded-proto", request.url.scheme)
        headers["X-Forwarded-Host"] = request.headers.get("x-forwarded-host", request.headers.get("host", ""))
        if target.prefix:
            headers["X-Forwarded-Prefix"] = target.prefix
        headers.update(outgoing_headers())
        return headers

    async def forward(self, request: Request, target: Target) -> Response:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.settings.max_body_bytes:
            return _too_large(request, self.settings.max_body_bytes)
        body = await request.body()
        if len(body) > self.settings.max_body_bytes:
            return _too_large(request, self.settings.max_body_bytes)
        url = target.upstream.base_url + target.path
        query = request.url.query
        if query:
            url += "?" + query
        timeout = aiohttp.ClientTimeout(
            total=None, connect=self.settings.connect_timeout, sock_read=self.settings.read_timeout
        )
        service = target.upstream.spec.slug
        try:
            async with self.session.request(
                request.method,
                url,
                headers=self._forward_headers(request, target),
                data=body or None,
                allow_redirects=False,
                timeout=timeout,
            ) as upstream:
                content = await upstream.read()
                raw: list[tuple[bytes, bytes]] = []
                for name, value in upstream.headers.items():
                    if name.lower() not in _RESPONSE_SKIP:
                        raw.append((name.lower().encode("latin-1"), value.encode("latin-1")))
                response = Response(content=content, status_code=upstream.status)
                response.raw_headers = [*raw, (b"content-length", str(len(content)).encode())]
                return response
        except TimeoutError:
            log.warning("upstream_timeout", service=service, url=url)
            return problem(
                504,
                title="Service timed out",
                detail=f"The {service} service did not answer within {self.settings.read_timeout:g}s.",
                instance=request.url.path,
                service=service,
            )
        except (
            aiohttp.ClientConnectionError,
            aiohttp.ClientPayloadError,
            asyncio.IncompleteReadError,
        ) as exc:
            log.warning("upstream_unavailable", service=service, url=url, error=repr(exc))
            return problem(
                502,
                title="Service unavailable",
                detail=f"The {service} service could not be reached.",
                instance=request.url.path,
                service=service,
            )


def _too_large(request: Request, limit: int) -> Response:
    return problem(
        413,
        detail=f"The request body exceeds the {limit} byte limit.",
        instance=request.url.path,
    )
