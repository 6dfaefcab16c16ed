"""Who is calling and which URL they used, believing X-Forwarded-* only from trusted proxies.

One trust decision for the whole fleet. A request reaches a service from the gateway (or reaches
the gateway from an ingress); the peer of the TCP connection decides whether the forwarding
headers are believed:

- ``X-Forwarded-For``: the client is the right-most hop a trusted proxy did not add;
- ``X-Forwarded-Proto`` / ``-Host`` / ``-Prefix``: the scheme, host and path prefix the client
  addressed, which is what a provider signs (Twilio's signature covers the full public URL).

The peer must be the real TCP peer. uvicorn's own proxy-headers handling replaces
``scope["client"]`` with the forwarded client address before the app runs, after which the peer is
a customer's address and no forwarding header would be believed again; the chassis therefore runs
uvicorn without it (``aintech_shared.serve``) and every trust decision is made here.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from starlette.requests import HTTPConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_TRUSTED_PROXIES = ("127.0.0.1", "::1")
_HOST = re.compile(r"^[A-Za-z0-9._~\[\]:%-]{1,255}$")
_PREFIX = re.compile(r"^/?[A-Za-z0-9._~/%+-]{0,255}$")
_KNOWN_LIMIT = 4096


def valid_networks(values: Iterable[str]) -> list[str]:
    """``values`` unchanged when each is an address or a CIDR range (settings validators)."""
    items = list(values)
    for item in items:
        ipaddress.ip_network(item, strict=False)
    return items


def canonical_ip(value: str | None) -> str | None:
    """The address in canonical form, without an IPv6 zone id (``fe80::1%eth0`` -> ``fe80::1``)."""
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip().split("%", 1)[0]))
    except ValueError:
        return None


def peer(conn: HTTPConnection) -> str:
    """The TCP peer of the connection (the gateway, a proxy, or the client itself)."""
    client = conn.scope.get("client")
    return str(client[0]) if client else ""


class TrustedProxies:
    """The proxies (the gateway, an ingress, a load balancer) whose forwarding headers are believed."""

    def __init__(self, networks: Iterable[str]) -> None:
        self.networks: tuple[Network, ...] = tuple(ipaddress.ip_network(n, strict=False) for n in networks)
        self._known: dict[str, bool] = {}

    def trusted(self, ip: str | None) -> bool:
        """Whether ``ip`` belongs to one of the trusted networks."""
        if not ip:
            return False
        known = self._known.get(ip)
        if known is not None:
            return known
        canonical = canonical_ip(ip)
        result = canonical is not None and any(
            ipaddress.ip_address(canonical) in network for network in self.networks
        )
        if len(self._known) > _KNOWN_LIMIT:
            self._known.clear()
        self._known[ip] = result
        return result

    def client_ip(self, peer: str, forwarded_for: str | None) -> str:
        """The right-most X-Forwarded-For hop that a trusted proxy did not add (the peer otherwise)."""
        if not forwarded_for or not self.trusted(peer):
            return peer
        hops = [h.strip() for h in forwarded_for.split(",")]
        for hop in reversed(hops):
            ip = canonical_ip(hop)
            if ip is None:
                return peer
            if not self.trusted(ip):
                return ip
        return canonical_ip(hops[0]) or peer

    def forwarded_for(self, peer: str, prior: str | None) -> str:
        """X-Forwarded-For for the next hop: extended when the peer is a trusted proxy, replaced otherwise."""
        if prior and self.trusted(peer):
            return f"{prior}, {peer}"
        return peer

    def client_address(self, conn: HTTPConnection) -> str:
        """The address of the client behind the trusted proxies (the peer when it is not one)."""
        return self.client_ip(peer(conn), conn.headers.get("x-forwarded-for"))

    def public_base(self, conn: HTTPConnection) -> str:
        """``scheme://host[/prefix]`` as the client addressed it.

        From X-Forwarded-Proto/-Host/-Prefix when the peer is a trusted proxy, else from the
        request itself (its scheme and Host header).
        """
        scheme = str(conn.scope.get("scheme") or "http")
        host = conn.headers.get("host") or conn.url.netloc
        prefix = ""
        if self.trusted(peer(conn)):
            proto = _first(conn.headers.get("x-forwarded-proto")).lower()
            if proto in ("http", "https"):
                scheme = proto
            forwarded_host = _first(conn.headers.get("x-forwarded-host"))
            if forwarded_host and _HOST.match(forwarded_host):
                host = forwarded_host
            forwarded_prefix = _first(conn.headers.get("x-forwarded-prefix")).rstrip("/")
            if forwarded_prefix and _PREFIX.match(forwarded_prefix):
                prefix = forwarded_prefix if forwarded_prefix.startswith("/") else "/" + forwarded_prefix
        return f"{scheme}://{host}{prefix}"

    def public_url(self, conn: HTTPConnection, *, base: str | None = None) -> str:
        """The full URL (scheme, host, path exactly as sent, query) the client addressed.

        ``base`` (a configured public base URL) replaces the scheme, host and prefix learnt from
        the request. What a provider signs is this URL, byte for byte.
        """
        raw_path = conn.scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else conn.url.path
        query = conn.scope.get("query_string", b"").decode("latin-1")
        root = base.rstrip("/") if base else self.public_base(conn)
        return f"{root}{path}" + (f"?{query}" if query else "")


def _first(value: str | None) -> str:
    return value.split(",")[0].strip() if value else ""


@lru_cache(maxsize=32)
def _cached(networks: tuple[str, ...]) -> TrustedProxies:
    return TrustedProxies(networks)


def trusted_proxies(networks: Sequence[str]) -> TrustedProxies:
    """The (shared, cached) :class:`TrustedProxies` for these networks."""
    return _cached(tuple(networks))
