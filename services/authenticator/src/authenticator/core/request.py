"""What a request says about its caller and its public URL, honouring only trusted proxies."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request

from authenticator.settings import Settings

_MAX_USER_AGENT = 512


@dataclass(frozen=True)
class ClientInfo:
    """The caller's IP address and user agent, as recorded in sessions and the audit log."""

    ip: str | None
    user_agent: str | None


@lru_cache(maxsize=16)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _is_trusted(address: str | None, settings: Settings) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in _networks(tuple(settings.trusted_proxies)))


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: Request, settings: Settings) -> str | None:
    """The client address: the right-most X-Forwarded-For hop not added by a trusted proxy."""
    peer = request.client.host if request.client else None
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


def get_client_info(request: Request) -> ClientInfo:
    settings = get_settings(request)
    agent = request.headers.get("user-agent")
    return ClientInfo(ip=client_ip(request, settings), user_agent=agent[:_MAX_USER_AGENT] if agent else None)


def public_base_url(request: Request) -> str:
    """This API's base URL as the client sees it (configured, or from trusted X-Forwarded-* headers)."""
    settings = get_settings(request)
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    scheme, host, prefix = request.url.scheme, request.headers.get("host", request.url.netloc), ""
    if _is_trusted(request.client.host if request.client else None, settings):
        scheme = request.headers.get("x-forwarded-proto", scheme).split(",")[0].strip() or scheme
        host = request.headers.get("x-forwarded-host", host).split(",")[0].strip() or host
        prefix = request.headers.get("x-forwarded-prefix", "").split(",")[0].strip().rstrip("/")
        if prefix and not prefix.startswith("/"):
            prefix = "/" + prefix
    return f"{scheme}://{host}{prefix}"


SettingsDep = Annotated[Settings, Depends(get_settings)]
Client = Annotated[ClientInfo, Depends(get_client_info)]
