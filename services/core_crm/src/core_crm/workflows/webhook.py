"""Outbound webhooks that cannot be aimed at the inside of the network (SSRF-safe).

The host is resolved first and every address checked: private, loopback, link-local, shared,
reserved, multicast and unspecified addresses are refused unless allow-listed (host name or
network in ``CORE_CRM_WEBHOOK_ALLOWLIST``). IPv6 forms that embed an IPv4 address (mapped
``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, translated, NAT64 ``64:ff9b::/96``, 6to4
``2002::/16``) are judged by that IPv4 address; local-use NAT64 and Teredo are refused. A refusal
names the host, never the address a name resolved to. The connection then goes to the checked addresses
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

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class WebhookResult:
    status: int
    body: str
    truncated: bool


def allowed(ip: IPAddress, host: str, allowlist: list[str]) -> bool:
    """Whether ``ip`` (for ``host``) is allow-listed by name or network."""
    for entry in allowlist:
        if entry == host.lower():
            return True
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


# IPv6 forms that carry an IPv4 address in their last 32 bits: a gateway or the host itself turns
# them into that IPv4 address, so they are judged by it.
_EMBEDS_IPV4_LOW32 = (
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64 well-known prefix (RFC 6052)
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible ::a.b.c.d (deprecated; also :: and ::1)
    ipaddress.IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated (RFC 2765)
)
# Translation prefixes whose mapping is local policy: where they lead cannot be known here.
_OPAQUE = (
    ipaddress.IPv6Network("64:ff9b:1::/48"),  # local-use NAT64 (RFC 8215)
    ipaddress.IPv6Network("2001::/32"),  # Teredo tunnels
)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, compatible, 6to4), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:  # 2002:AABB:CCDD::/48 is 6to4 for AA.BB.CC.DD
        return ip.sixtofour
    if any(ip in net for net in _EMBEDS_IPV4_LOW32):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(ip: IPAddress) -> bool:
    """Whether ``ip`` (or the IPv4 address it embeds) is a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in _OPAQUE):
            return False
        inner = embedded_ipv4(ip)
        if inner is not None:
            return is_public(inner)
    return ip.is_global and not ip.is_multicast


def check_url(url: str) -> tuple[str, int]:
    """The host and port of a URL a webhook may use; WebhookRefused for any other URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused("only http and https URLs with a host are allowed")
    if parts.username or parts.password:
        raise WebhookRefused("credentials in the URL are not allowed")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise WebhookRefused("the URL's port is invalid") from exc
    return parts.hostname, port


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
        if not is_public(ip) and not allowed(ip, host, allowlist):
            # What an internal name resolves to is not repeated: refusals are stored and listed.
            what = "is" if literal is not None else "resolves to"
            raise WebhookRefused(f"{host} {what} a private or reserved address (or embeds one)")
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
    raw: bytes | None = None,
) -> WebhookResult:
    """Make one checked webhook call; HTTP >= 400 raises WebhookFailed. ``raw`` sends exact bytes
    (a signed body) instead of ``body`` as JSON."""
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
            http.request(
                method,
                url,
                **({"data": raw} if raw is not None else {"json": body}),
                headers=clean,
                allow_redirects=False,
            ) as response,
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
                raise WebhookFailed(
                    f"HTTP {response.status} from {parts.hostname}: {text[:200]}", status=response.status
                )
            return WebhookResult(status=response.status, body=text[:2000], truncated=truncated)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise WebhookFailed(f"{type(exc).__name__}: {exc}"[:500]) from exc
