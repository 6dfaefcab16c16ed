"""What a request says about its public URL and caller, honouring only trusted proxies."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request

from omnichannel.settings import Settings


@lru_cache(maxsize=16)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def is_trusted(address: str | None, settings: Settings) -> bool:
    """Whether ``address`` is a proxy (the gateway) whose X-Forwarded-* headers are believed."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in _networks(tuple(settings.trusted_proxies)))


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def called_url(request: Request, settings: Settings) -> str:
    """The URL the caller (a provider) used, as it saw it: what its signature covers.

    With ``public_base_url`` configured it is that base plus the path; otherwise the scheme and
    host come from X-Forwarded-Proto/Host when the peer is a trusted proxy, else from the request.
    """
    path = request.url.path
    query = request.url.query
    suffix = path + (f"?{query}" if query else "")
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/") + suffix
    scheme = request.url.scheme
    host = request.headers.get("host", request.url.netloc)
    if is_trusted(request.client.host if request.client else None, settings):
        scheme = request.headers.get("x-forwarded-proto", scheme).split(",")[0].strip() or scheme
        host = request.headers.get("x-forwarded-host", host).split(",")[0].strip() or host
    return f"{scheme}://{host}{suffix}"


def public_base(request: Request, settings: Settings) -> str:
    """The platform's public base URL (for status callbacks and links)."""
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    url = called_url(request, settings)
    return url[: len(url) - len(request.url.path) - (len(request.url.query) + 1 if request.url.query else 0)]


SettingsDep = Annotated[Settings, Depends(get_settings)]
