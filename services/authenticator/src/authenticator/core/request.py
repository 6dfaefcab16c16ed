"""What a request says about its caller and its public URL, honouring only trusted proxies."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request

from authenticator.settings import Settings

_MAX_USER_AGENT = 512
_MAX_ADDRESS = 45  # the longest textual IP address (IPv4-mapped IPv6), the size of the ip columns
_HOST_OR_PREFIX = re.compile(r"^[A-Za-z0-9._~:/\[\]@%+-]{1,255}$")


@dataclass(frozen=True)
class ClientInfo:
    """The caller's IP address and user agent, as recorded in sessions and the audit log."""

    ip: str | None
    user_agent: str | None


@lru_cache(maxsize=16)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _valid_ip(value: str | None) -> str | None:
    """The address in canonical form, without an IPv6 zone id (``fe80::1%eth0`` -> ``fe80::1``)."""
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip().split("%", 1)[0]))
    except ValueError:
        return None


def _is_trusted(address: str | None, settings: Settings) -> bool:
    ip = _valid_ip(address)
    if ip is None:
        return False
    parsed = ipaddress.ip_address(ip)
    return any(parsed in net for net in _networks(tuple(settings.trusted_proxies)))


def client_ip(request: Request, settings: Settings) -> str | None:
    """The client address: the right-most X-Forwarded-For hop not added by a trusted proxy."""
    raw_peer = request.client.host if request.client else None
    peer = _valid_ip(raw_peer) or (raw_peer[:_MAX_ADDRESS] if raw_peer else None)
    if not _is_trusted(peer, settings):
        return peer
    forwarded = request.headers.get("x-forwarded-for")
    if not forwarded:
        return peer
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        ip = _valid_ip(hop)
        if ip is None:
            return peer
        if not _is_trusted(ip, settings):
            return ip
    return _valid_ip(hops[0]) if hops else peer


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _printable(value: str | None, limit: int) -> str | None:
    """Header text as stored: printable characters only, cut to ``limit``."""
    if not value:
        return None
    return "".join(ch for ch in value if ch.isprintable())[:limit] or None


def get_client_info(request: Request) -> ClientInfo:
    settings = get_settings(request)
    return ClientInfo(
        ip=client_ip(request, settings),
        user_agent=_printable(request.headers.get("user-agent"), _MAX_USER_AGENT),
    )


def _forwarded(request: Request, name: str) -> str | None:
    """The first value of a forwarding header, when it is a plausible host or path."""
    value = request.headers.get(name, "").split(",")[0].strip()
    return value if value and _HOST_OR_PREFIX.match(value) else None


def public_base_url(request: Request) -> str:
    """This API's base URL as the client sees it (configured, or from trusted X-Forwarded-* headers)."""
    settings = get_settings(request)
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    scheme, host, prefix = request.url.scheme, request.url.netloc, ""
    if _is_trusted(request.client.host if request.client else None, settings):
        proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        scheme = proto if proto in ("http", "https") else scheme
        host = _forwarded(request, "x-forwarded-host") or host
        prefix = (_forwarded(request, "x-forwarded-prefix") or "").rstrip("/")
        if prefix and not prefix.startswith("/"):
            prefix = "/" + prefix
    return f"{scheme}://{host}{prefix}"


SettingsDep = Annotated[Settings, Depends(get_settings)]
Client = Annotated[ClientInfo, Depends(get_client_info)]
