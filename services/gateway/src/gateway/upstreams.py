"""Which service answers which public path, and which paths never leave the gateway.

Paths are checked as received (``raw_path``, still percent-encoded): a path with an empty, ``.``
or ``..`` segment, an encoded slash or backslash, or a control character is refused (400) rather
than normalised, so what the gateway checks is exactly what the service receives. A service's
own operational surfaces (health, readiness, metrics, its docs and OpenAPI) are never routed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from aintech_contracts.fleet import BACKENDS, ServiceSpec
from gateway.settings import Settings

# A service's operational endpoints: reached by probes and scrapers on the pod, never from outside.
INTERNAL_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json"})
INTERNAL_PREFIXES = ("/docs/", "/redoc/")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\\]")


@dataclass(frozen=True, slots=True)
class Upstream:
    spec: ServiceSpec
    base_url: str


@dataclass(frozen=True, slots=True)
class RouteLabel:
    """What the metrics middleware reads as the route template (bounded label values)."""

    path: str


@dataclass(frozen=True, slots=True)
class Target:
    upstream: Upstream
    path: str  # raw (percent-encoded) path on the service
    prefix: str  # public prefix stripped from the path (X-Forwarded-Prefix); "" for webhooks
    public: bool  # reachable without an access token
    route_class: str | None  # rate-limit class of this public path, if any
    label: RouteLabel


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    detail: str


class PathPattern:
    """``/oauth/*/callback`` style: ``*`` is exactly one segment, a trailing ``/**`` any rest."""

    def __init__(self, pattern: str) -> None:
        self.rest = pattern.endswith("/**")
        self.parts = tuple(pattern.removesuffix("/**").strip("/").split("/"))
        # The literal text before the first wildcard: a path that does not start with it (after its
        # leading "/") cannot match, and most paths are told so without being split.
        stripped = pattern.strip("/")
        self.literal = stripped[: stripped.index("*")].rstrip("/") if "*" in stripped else stripped

    def matches(self, parts: list[str]) -> bool:
        if len(parts) < len(self.parts) or (len(parts) != len(self.parts) and not self.rest):
            return False
        return all(p == "*" or p == s for p, s in zip(self.parts, parts, strict=False))


class PathTable:
    """Exact paths in a set, patterns checked in order: a small, fast lookup of path -> value."""

    def __init__(self, entries: dict[str, str]) -> None:
        self.exact = {p: v for p, v in entries.items() if "*" not in p}
        self.patterns = [(PathPattern(p), v) for p, v in entries.items() if "*" in p]

    def get(self, path: str) -> str | None:
        value = self.exact.get(path)
        if value is not None or not self.patterns:
            return value
        offset = 1 if path.startswith("/") else 0
        parts: list[str] | None = None
        for pattern, candidate in self.patterns:
            if not path.startswith(pattern.literal, offset):
                continue
            if parts is None:
                parts = path.strip("/").split("/")
            if pattern.matches(parts):
                return candidate
        return None


def canonical(raw_path: str) -> str | None:
    """The decoded path when ``raw_path`` is canonical (see the module docstring); ``None`` if not."""
    if not raw_path.startswith("/"):
        return None
    if "%" not in raw_path and "/." not in raw_path and "//" not in raw_path:
        return None if _UNSAFE.search(raw_path) else raw_path
    segments = raw_path[1:].split("/")
    decoded = []
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        try:
            text = unquote(segment, errors="strict") if "%" in segment else segment
        except UnicodeDecodeError:
            return None
        if text in (".", "..") or (text == "" and index != last) or "/" in text or _UNSAFE.search(text):
            return None
        decoded.append(text)
    return "/" + "/".join(decoded)


def is_internal(service_path: str) -> bool:
    """Whether a (decoded) path on a service is one of its operational surfaces."""
    lowered = service_path.lower()
    trimmed = lowered.rstrip("/") or "/"
    return trimmed in INTERNAL_PATHS or lowered.startswith(INTERNAL_PREFIXES)


def is_webhook(service_path: str) -> bool:
    """Whether a (decoded) path on a service is under its provider-webhook intake, which has one
    public path: ``/webhooks/...`` on the gateway, never also ``/api/<route>/webhooks/...``."""
    lowered = service_path.lower()
    return lowered.rstrip("/") == "/webhooks" or lowered.startswith("/webhooks/")


class Routes:
    """`/api/<route>/...` goes to that service without the prefix (its `/webhooks/...` excepted);
    `/webhooks/<owned>/...` as is;
    `/ws/<route>/<declared prefix>/...` to `/ws/<prefix>/...` on the service."""

    def __init__(self, settings: Settings) -> None:
        self.upstreams = {
            spec.route: Upstream(
                spec,
                settings.upstream_template.format(slug=spec.slug, port=spec.port + settings.port_offset),
            )
            for spec in BACKENDS
            if spec.route
        }
        self.webhooks = sorted(
            (
                (prefix, self.upstreams[spec.route])
                for spec in BACKENDS
                if spec.route
                for prefix in spec.webhooks
            ),
            key=lambda item: -len(item[0]),
        )
        self._public = {
            route: PathTable(dict.fromkeys(upstream.spec.public_paths, "public"))
            for route, upstream in self.upstreams.items()
        }
        self._classes = PathTable(settings.rate_limit_routes)
        self._labels = {route: RouteLabel(f"/api/{route}/{{path}}") for route in self.upstreams}
        self._ws_labels = {route: RouteLabel(f"/ws/{route}/{{path}}") for route in self.upstreams}
        self._webhook_label = RouteLabel("/webhooks/{path}")

    def known(self) -> str:
        return ", ".join(sorted(self.upstreams))

    def resolve(self, raw_path: str) -> Target | Refusal:
        """The target of a public ``/api/...`` or ``/webhooks/...`` path (raw, percent-encoded)."""
        path = canonical(raw_path)
        if path is None:
            return Refusal(
                400,
                "The path is not canonical: empty, '.' or '..' segments, encoded slashes "
                "and control characters are refused.",
            )
        if path.startswith("/webhooks/"):
            return self._webhook(raw_path, path)
        _, _, rest = path.partition("/api/")
        route, slash, service_path = rest.partition("/")
        upstream = self.upstreams.get(route)
        if upstream is None or not slash:
            return Refusal(404, f"No service is published at /api/{route}. Known: {self.known()}.")
        service_path = "/" + service_path
        if is_internal(service_path):
            return Refusal(404, f"No route matches {path}.")
        if is_webhook(service_path):
            return Refusal(
                404,
                f"No route matches {path}: provider webhooks are published once, "
                f"at /webhooks/… (without /api/{route}).",
            )
        prefix = f"/api/{route}"
        return Target(
            upstream=upstream,
            path=raw_path[len(prefix) :],
            prefix=prefix,
            public=self._public[route].get(service_path) is not None,
            route_class=self._classes.get(path),
            label=self._labels[route],
        )

    def _webhook(self, raw_path: str, path: str) -> Target | Refusal:
        rest = path[len("/webhooks/") :]
        for prefix, upstream in self.webhooks:
            if rest == prefix or rest.startswith(prefix + "/"):
                return Target(
                    upstream=upstream,
                    path=raw_path,
                    prefix="",
                    public=True,
                    route_class=self._classes.get(path),
                    label=self._webhook_label,
                )
        return Refusal(404, "No service owns this webhook.")

    def resolve_websocket(self, raw_path: str) -> Target | Refusal:
        """The target of a ``/ws/<route>/<prefix>/...`` path, when the service declares ``prefix``."""
        path = canonical(raw_path)
        if path is None:
            return Refusal(400, "The path is not canonical.")
        parts = path.split("/")  # ["", "ws", route, prefix, ...]
        if len(parts) < 4:
            return Refusal(404, "No WebSocket is published at this path.")
        upstream = self.upstreams.get(parts[2])
        if upstream is None or parts[3] not in upstream.spec.websockets:
            return Refusal(404, "No WebSocket is published at this path.")
        prefix = f"/ws/{parts[2]}"
        return Target(
            upstream=upstream,
            path="/ws" + raw_path[len(prefix) :],
            prefix=prefix,
            public=False,
            route_class=None,
            label=self._ws_labels[parts[2]],
        )
