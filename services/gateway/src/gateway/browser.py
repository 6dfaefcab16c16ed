"""What browsers see: the Host allow-list, security headers on every response, and CORS.

CORS is answered here from the allow-list in settings. Unlike Starlette's ``CORSMiddleware``, a
disallowed origin gets no ``Access-Control-*`` header at all (a failed preflight is a plain 403
problem), and no service can widen the policy: the proxy drops ``Access-Control-*`` headers
coming from services.

Framing: nothing may be framed (``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``) unless a
service's own Content-Security-Policy names the origins that may frame that one answer (the chat
widget). Such a ``frame-ancestors`` is kept only when every source is an exact origin, ``'self'`` or
``'none'``; a wildcard or a bare scheme becomes ``'none'``. ``X-Frame-Options`` has no allow-list,
so it is left out of an answer that may be framed.
"""

from __future__ import annotations

import re

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aintech_shared.docs import DOCS_CSP
from aintech_shared.proxies import TrustedProxies
from gateway.answers import refuse
from gateway.settings import Settings

ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD"
EXPOSED_HEADERS = (
    "Location, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, X-Request-ID, "
    "X-Correlation-ID, Content-Disposition"
)
# The gateway's own operational endpoints answer probes that address the pod by IP.
OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_DOCS_PREFIXES = ("/docs", "/redoc")
_CSP = b"content-security-policy"
# The API pages load their scripts and styles from the gateway itself, and nothing from elsewhere.
_DOCS_CSP = DOCS_CSP.encode()
_XFO = (b"x-frame-options", b"DENY")
_NO_FRAMING = "frame-ancestors 'none'"
# A frame-ancestors source a service may name: 'self', 'none' or an exact http(s) origin.
_FRAMING_SOURCE = re.compile(
    r"'self'|'none'|https?://[a-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9a-f:.]+\](:[0-9]{1,5})?"
)

log = structlog.get_logger("gateway.browser")


def framing_policy(csp: str) -> tuple[str, bool]:
    """A service's Content-Security-Policy with its framing made safe, and whether the answer may be
    framed by anyone at all (then ``X-Frame-Options: DENY`` must not be added).

    No ``frame-ancestors``: ``'none'`` is appended. Every source an exact origin, ``'self'`` or
    ``'none'``: kept. Anything else (``*``, ``https:``, ``*.example.com``): ``'none'``.
    """
    directives = [d.strip() for d in csp.split(";") if d.strip()]
    framed = False
    found = False
    for index, directive in enumerate(directives):
        name, _, value = directive.partition(" ")
        if name.lower() != "frame-ancestors":
            continue
        found = True
        sources = value.lower().split()
        if sources and all(_FRAMING_SOURCE.fullmatch(s) for s in sources):
            framed = framed or sources != ["'none'"]
        else:
            log.warning("frame_ancestors_refused", policy=directive[:200])
            directives[index] = _NO_FRAMING
    if not found:
        directives.append(_NO_FRAMING)
    return "; ".join(directives), framed


def _safe_framing(headers: list[tuple[bytes, bytes]]) -> bool:
    """Make every Content-Security-Policy a service sent safe to frame (in place); True when the
    answer may be framed by some origin."""
    framed = False
    for index, (name, value) in enumerate(headers):
        if name.lower() == _CSP:
            policy, allows = framing_policy(value.decode("latin-1"))
            headers[index] = (name, policy.encode("latin-1"))
            framed = framed or allows
    return framed


def _own_origin(scheme: str, host: str | None) -> str:
    return f"{scheme}://{(host or '').lower()}"


def _host_name(value: str) -> str:
    """``api.example.com:443`` -> ``api.example.com``; ``[::1]:8000`` -> ``[::1]``."""
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1].lower() if end != -1 else value.lower()
    return value.rsplit(":", 1)[0].lower() if value.count(":") == 1 else value.lower()


class HostPolicy:
    def __init__(self, allowed: list[str]) -> None:
        self.any = "*" in allowed
        self.exact = {h.lower() for h in allowed if not h.startswith("*.")}
        self.suffixes = tuple(h[1:].lower() for h in allowed if h.startswith("*."))

    def allows(self, host: str) -> bool:
        if self.any:
            return True
        name = _host_name(host)
        return name in self.exact or (bool(self.suffixes) and name.endswith(self.suffixes))


class BrowserPolicy:
    """Pure ASGI middleware: Host check, CORS, and the security headers on every HTTP response."""

    def __init__(self, app: ASGIApp, settings: Settings, proxies: TrustedProxies) -> None:
        self.app = app
        self.proxies = proxies
        self.hosts = HostPolicy(settings.allowed_hosts)
        self.origins = frozenset(settings.cors_origins)
        self.credentials = settings.cors_allow_credentials
        self.allow_headers = frozenset(h.lower() for h in settings.cors_allow_headers) | {
            "accept",
            "accept-language",
            "content-language",
            "content-type",
        }
        self.preflight_allow_headers = ", ".join(settings.cors_allow_headers).encode()
        self.max_age = str(settings.cors_max_age).encode()
        self.hsts = f"max-age={settings.hsts_max_age}; includeSubDomains".encode()
        self.common: list[tuple[bytes, bytes]] = [
            (b"x-content-type-options", b"nosniff"),
            _XFO,
            (b"referrer-policy", b"no-referrer"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        host = origin = forwarded_host = forwarded_proto = None
        preflight = False
        for name, value in scope["headers"]:
            if name == b"host":
                host = value.decode("latin-1")
            elif name == b"origin":
                origin = value.decode("latin-1")
            elif name == b"x-forwarded-host":
                forwarded_host = value.decode("latin-1")
            elif name == b"x-forwarded-proto":
                forwarded_proto = value.decode("latin-1")
            elif name == b"access-control-request-method":
                preflight = True
        peer = scope["client"][0] if scope.get("client") else ""
        trusted = bool(forwarded_host or forwarded_proto) and self.proxies.trusted(peer)
        if trusted and forwarded_host:
            host = forwarded_host.split(",")[0].strip()
        path = scope["path"]
        if path not in OPS_PATHS and not self.hosts.allows(host or ""):
            await self._refuse(scope, receive, send, 400, "This host name is not served here.")
            return
        https = scope.get("scheme") in ("https", "wss") or (
            trusted
            and forwarded_proto is not None
            and forwarded_proto.split(",")[0].strip().lower() in ("https", "wss")
        )
        if kind == "websocket":
            # A page the platform itself served (the chat widget, framed or not) is same-origin.
            if (
                origin is not None
                and origin not in self.origins
                and origin.lower() != _own_origin("https" if https else "http", host)
            ):
                await self._refuse(scope, receive, send, 403, "This origin may not open WebSockets here.")
                return
            await self.app(scope, receive, send)
            return
        allowed_origin = origin is not None and origin in self.origins
        if preflight and origin is not None and scope["method"] == "OPTIONS":
            await self._preflight(scope, receive, send, allowed_origin, https)
            return
        extra = list(self.common)
        extra.append(
            (b"content-security-policy", _DOCS_CSP)
            if path.startswith(_DOCS_PREFIXES)
            else (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
        )
        if https:
            extra.append((b"strict-transport-security", self.hsts))
        if origin is not None:
            extra.append((b"vary", b"Origin"))
            if allowed_origin:
                extra.append((b"access-control-allow-origin", origin.encode("latin-1")))
                if self.credentials:
                    extra.append((b"access-control-allow-credentials", b"true"))
                extra.append((b"access-control-expose-headers", EXPOSED_HEADERS.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                present = {name.lower() for name, _ in headers}
                if _CSP in present:
                    if not _safe_framing(headers) and _XFO[0] not in present:
                        headers.append(_XFO)
                    present.add(_XFO[0])
                headers.extend(h for h in extra if h[0] not in present or h[0] == b"vary")
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _preflight(
        self, scope: Scope, receive: Receive, send: Send, allowed: bool, https: bool
    ) -> None:
        requested_method = requested_headers = ""
        origin = b""
        for name, value in scope["headers"]:
            if name == b"access-control-request-method":
                requested_method = value.decode("latin-1").strip().upper()
            elif name == b"access-control-request-headers":
                requested_headers = value.decode("latin-1")
            elif name == b"origin":
                origin = value
        wanted = {h.strip().lower() for h in requested_headers.split(",") if h.strip()}
        if (
            not allowed
            or requested_method not in ALLOWED_METHODS.split(", ")
            or not wanted <= self.allow_headers
        ):
            detail = "This origin, method or header is not allowed to call the API from a browser."
            headers = [*self.common, (b"vary", b"Origin")]
            await refuse(scope, receive, send, 403, detail, title="CORS request refused", headers=headers)
            return
        headers = [
            *self.common,
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
            (b"access-control-allow-headers", self.preflight_allow_headers),
            (b"access-control-max-age", self.max_age),
            (b"vary", b"Origin"),
            (b"content-length", b"0"),
        ]
        if self.credentials:
            headers.append((b"access-control-allow-credentials", b"true"))
        if https:
            headers.append((b"strict-transport-security", self.hsts))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
        await refuse(scope, receive, send, status, detail, headers=self.common, close=True)
