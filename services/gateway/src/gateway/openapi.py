"""One OpenAPI document for the platform: the gateway's own plus every service's, as routed."""

from __future__ import annotations

import asyncio
import copy
import json
import re
import time
from typing import Any

import aiohttp
from fastapi import FastAPI

from gateway.proxy import Forwarder
from gateway.upstreams import Target, Upstream, is_webhook

# A service builds its OpenAPI document on the first request for it; on a busy node that can take
# seconds. An incomplete merge (some service unreachable) is kept only briefly, then rebuilt.
FETCH_TIMEOUT = aiohttp.ClientTimeout(total=10)
INCOMPLETE_TTL = 5.0
OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json"})
REF = '"#/components/schemas/'
BEARER = "bearer"
# The gateway refuses a call without a valid token (401) before any service sees it, whatever the
# method: every operation that is not public says so, and Swagger UI offers "Authorize".
BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "An access token from `POST /api/auth/login`.",
}
_PARAM = re.compile(r"{[^}/]*}")


class MergedOpenAPI:
    """Fetches each service's /openapi.json, re-roots its paths under /api/<route>, and caches."""

    def __init__(self, app: FastAPI, forwarder: Forwarder, ttl: float = 30.0) -> None:
        self.app = app
        self.forwarder = forwarder
        self.ttl = ttl
        self._cached: dict[str, Any] | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()

    async def document(self) -> dict[str, Any]:
        async with self._lock:
            ttl = INCOMPLETE_TTL if self._cached and "x-unavailable-services" in self._cached else self.ttl
            if self._cached is None or time.monotonic() - self._at > ttl:
                self._cached = await self._build()
                self._at = time.monotonic()
            return self._cached

    async def _fetch(self, upstream: Upstream) -> dict[str, Any] | None:
        try:
            async with self.forwarder.session.get(
                upstream.base_url + "/openapi.json", timeout=FETCH_TIMEOUT
            ) as resp:
                if resp.status != 200:
                    return None
                body: dict[str, Any] = await resp.json(content_type=None)
                return body
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None

    async def _build(self) -> dict[str, Any]:
        spec = copy.deepcopy(self.app.openapi())
        paths: dict[str, Any] = spec.setdefault("paths", {})
        components: dict[str, Any] = spec.setdefault("components", {})
        schemas: dict[str, Any] = components.setdefault("schemas", {})
        tags: list[dict[str, str]] = spec.setdefault("tags", [])
        upstreams = list(self.forwarder.routes.upstreams.items())
        documents = await asyncio.gather(*(self._fetch(u) for _, u in upstreams))
        unavailable = []
        for (route, upstream), doc in zip(upstreams, documents, strict=True):
            slug = upstream.spec.slug
            if doc is None:
                unavailable.append(slug)
                continue
            renamed = json.loads(json.dumps(doc).replace(REF, f"{REF}{route}."))
            for path, operations in renamed.get("paths", {}).items():
                if path in OPS_PATHS:
                    continue
                # A provider webhook has one public path, unprefixed (see gateway.upstreams).
                public_path = path if is_webhook(path) else f"/api/{route}{path}"
                public = self._public(public_path)
                for operation in operations.values():
                    if isinstance(operation, dict):
                        if not public:
                            operation["security"] = [{BEARER: []}]
                        operation["tags"] = [slug, *operation.get("tags", [])]
                        if "operationId" in operation:
                            operation["operationId"] = f"{route}_{operation['operationId']}"
                paths[public_path] = operations
            for name, schema in renamed.get("components", {}).get("schemas", {}).items():
                schemas[f"{route}.{name}"] = schema
            for name, scheme in renamed.get("components", {}).get("securitySchemes", {}).items():
                components.setdefault("securitySchemes", {}).setdefault(name, scheme)
            tags.append({"name": slug, "description": upstream.spec.description})
        components.setdefault("securitySchemes", {})[BEARER] = BEARER_SCHEME
        if unavailable:
            spec["x-unavailable-services"] = unavailable
        return spec

    def _public(self, path: str) -> bool:
        """Whether the gateway forwards ``path`` (a template) without a token."""
        target = self.forwarder.routes.resolve(_PARAM.sub("x", path))
        return isinstance(target, Target) and target.public
