"""The URL a caller used, rebuilt from X-Forwarded-* only when the peer is a trusted proxy."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.requests import HTTPConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def is_trusted(address: str | None, proxies: list[str]) -> bool:
    """Whether ``address`` belongs to one of the trusted proxy networks."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in _networks(tuple(proxies)))


def public_url(conn: HTTPConnection, proxies: list[str]) -> str:
    """The full URL (scheme, host, path, query) as the client addressed it.

    Behind the gateway the service sees its own host; the gateway passes the public scheme and
    host in X-Forwarded-Proto / X-Forwarded-Host, believed only from a trusted peer. Webhook paths
    are forwarded unchanged, so the path and query are the ones the provider signed.
    """
    scheme = conn.url.scheme
    host = conn.headers.get("host", conn.url.netloc)
    if is_trusted(conn.client.host if conn.client else None, proxies):
        scheme = conn.headers.get("x-forwarded-proto", scheme).split(",")[0].strip() or scheme
        host = conn.headers.get("x-forwarded-host", host).split(",")[0].strip() or host
    raw_path = conn.scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else conn.url.path
    query = conn.scope.get("query_string", b"").decode("latin-1")
    return f"{scheme}://{host}{path}" + (f"?{query}" if query else "")
