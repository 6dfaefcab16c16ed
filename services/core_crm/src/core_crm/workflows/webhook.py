"""Outbound webhooks that cannot be aimed at the inside of the network (SSRF-safe).

The host is resolved first and every address checked: private, loopback, link-local, shared,
reserved, multicast and unspecified addresses are refused unless allow-listed (host name or
network in ``CORE_CRM_WEBHOOK_ALLOWLIST``). The connection then goes to the checked addresses
only (a pinned resolver), so a DNS answer that changes between the check and the connect (DNS
rebinding) cannot redirect it. No redirects are followed; a total timeout and a response-size
cap bound every call.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
FORBIDDEN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "upgrade"})


class WebhookRefused(Exception):
    """The target is not allowed (never retried)."""


class WebhookFailed(Exception):
    """The call failed (timeout, connection error, HTTP error status): worth retrying."""


@dataclass(frozen=True)
class WebhookResult:
    status: int
    body: str
    truncated: bool


def _allowed(ip: IPAddress, host: str, allowlist: list[str]) -> bool:
    for entry in allowlist:
        if entry == host.lower():
            return True
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def _public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def resolve_checked(host: str, port: int, allowlist: list[str]) -> list[ResolveResult]:
    """Every address ``host`` resolves to, each checked; WebhookRefused if any is not allowed."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        infos = [(socket.AF_INET6 if literal.version == 6 else socket.AF_INET, str(literal))]
    else:
        try:
            raw = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise WebhookFailed(f"cannot resolve {host}: {exc}") from exc
        infos = [(family, str(sockaddr[0])) for family, _, _, _, sockaddr in raw]
    if not infos:
        raise WebhookFailed(f"{host} has no address")
    results: list[ResolveResult] = []
    for family, address in infos:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not _public(ip) and not _allowed(ip, host, allowlist):
            raise WebhookRefused(f"{host} resolves to {ip}, a private or reserved address")
        results.append(
            ResolveResult(
                hostname=host, host=str(ip), port=port, family=family, proto=0, flags=socket.AI_NUMERICHOST
            )
        )
    return results


class PinnedResolver(AbstractResolver):
    """Answers only with the addresses checked beforehand."""

    def __init__(self, answers: dict[str, list[ResolveResult]]) -> None:
        self.answers = answers

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.answers:
            raise OSError(f"{host} was not checked")
        return [{**r, "port": port or r["port"]} for r in self.answers[host]]

    async def close(self) -> None:
        return None


async def call(
    url: str,
    *,
    method: str,
    headers: dict[str, str],
    body: Any,
    timeout_seconds: float,
    max_bytes: int,
    allowlist: list[str],
) -> WebhookResult:
    """Make one checked webhook call; HTTP >= 400 raises WebhookFailed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused("only http and https URLs with a host are allowed")
    if parts.username or parts.password:
        raise WebhookRefused("credentials in the URL are not allowed")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    answers = await resolve_checked(parts.hostname, port, allowlist)
    clean = {k: v for k, v in headers.items() if k.lower() not in FORBIDDEN_HEADERS}
    connector = aiohttp.TCPConnector(resolver=PinnedResolver({parts.hostname: answers}), use_dns_cache=False)
    limit = aiohttp.ClientTimeout(total=timeout_seconds)
    try:
        async with (
            aiohttp.ClientSession(connector=connector, timeout=limit) as http,
            http.request(method, url, json=body, headers=clean, allow_redirects=False) as response,
        ):
            chunks: list[bytes] = []
            size = 0
            truncated = False
            async for chunk in response.content.iter_chunked(16 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    chunks.append(chunk[: max_bytes - (size - len(chunk))])
                    truncated = True
                    break
                chunks.append(chunk)
            text = b"".join(chunks).decode("utf-8", errors="replace")
            if response.status >= 400:
                raise WebhookFailed(f"HTTP {response.status} from {parts.hostname}: {text[:200]}")
            return WebhookResult(status=response.status, body=text[:2000], truncated=truncated)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise WebhookFailed(f"{type(exc).__name__}: {exc}"[:500]) from exc
