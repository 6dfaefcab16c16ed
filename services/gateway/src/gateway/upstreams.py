"""Which service answers which public path."""

from __future__ import annotations

from dataclasses import dataclass

from aintech_contracts.fleet import BACKENDS, ServiceSpec
from gateway.settings import Settings


@dataclass(frozen=True)
class Upstream:
    spec: ServiceSpec
    base_url: str


@dataclass(frozen=True)
class Target:
    upstream: Upstream
    path: str  # path on the service
    prefix: str  # public prefix stripped from the path (X-Forwarded-Prefix)


class Routes:
    """`/api/<route>/...` goes to that service without the prefix; `/webhooks/<owned>/...` as is."""

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

    def for_api(self, route: str, rest: str) -> Target | None:
        upstream = self.upstreams.get(route)
        if upstream is None:
            return None
        return Target(upstream, "/" + rest, f"/api/{route}")

    def for_webhook(self, rest: str) -> Target | None:
        for prefix, upstream in self.webhooks:
            if rest == prefix or rest.startswith(prefix + "/"):
                return Target(upstream, f"/webhooks/{rest}", "")
        return None
