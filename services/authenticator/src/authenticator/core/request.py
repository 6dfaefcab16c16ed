"""What a request says about its caller and its public URL, honouring only trusted proxies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from aintech_shared.proxies import canonical_ip, peer, trusted_proxies
from authenticator.settings import Settings

_MAX_USER_AGENT = 512
_MAX_ADDRESS = 45  # the longest textual IP address (IPv4-mapped IPv6), the size of the ip columns


@dataclass(frozen=True)
class ClientInfo:
    """The caller's IP address and user agent, as recorded in sessions and the audit log."""

    ip: str | None
    user_agent: str | None


def client_ip(request: Request, settings: Settings) -> str | None:
    """The client address: the right-most X-Forwarded-For hop not added by a trusted proxy."""
    raw_peer = peer(request)
    if not raw_peer:
        return None
    address = trusted_proxies(settings.trusted_proxies).client_ip(
        raw_peer, request.headers.get("x-forwarded-for")
    )
    return canonical_ip(address) or address[:_MAX_ADDRESS]


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


def public_base_url(request: Request) -> str:
    """This API's base URL as the client sees it (configured, or from trusted X-Forwarded-* headers)."""
    settings = get_settings(request)
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    return trusted_proxies(settings.trusted_proxies).public_base(request)


SettingsDep = Annotated[Settings, Depends(get_settings)]
Client = Annotated[ClientInfo, Depends(get_client_info)]
