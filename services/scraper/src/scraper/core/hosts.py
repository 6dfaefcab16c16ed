"""The carrier-host allow-list: a URL is contacted only when its host is listed exactly.

The list is the adapters' ``hosts`` plus ``SCRAPER_ALLOWED_HOSTS`` (plus loopback for the demo
portal in development). Schemes other than http/https, user-info in URLs and IP literals that are
not listed are refused; every redirect is checked again before it is followed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from scraper.core.errors import ErrorClass, ScrapeError

_HOST = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?)*$"
)


def valid_host(value: str) -> str:
    """A lowercase host name or IPv4 literal (optionally with :port); anything else is refused."""
    host = value.strip().lower()
    name, _, port = host.partition(":")
    if not _HOST.match(name) or (port and not (port.isdigit() and 0 < int(port) < 65536)):
        raise ValueError(f"not a host name: {value!r}")
    return host


class HostPolicy:
    """Which hosts may be contacted (``host`` or ``host:port`` entries)."""

    def __init__(self, hosts: Iterable[str]) -> None:
        self.hosts = frozenset(valid_host(h) for h in hosts)

    def allows(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or parts.username or parts.password or not parts.hostname:
            return False
        host = parts.hostname.lower()
        return host in self.hosts or (port is not None and f"{host}:{port}" in self.hosts)

    def check(self, url: str) -> str:
        """``url`` when allowed; a non-retryable ``unsafe_target`` error otherwise."""
        if not self.allows(url):
            raise ScrapeError(
                ErrorClass.unsafe_target, f"host of {url[:200]!r} is not an allow-listed carrier host"
            )
        return url
