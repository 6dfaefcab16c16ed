"""The gateway's /readyz asks every service's /readyz, concurrently, with a short timeout."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from starlette.requests import Request

from gateway.proxy import Forwarder
from gateway.upstreams import Upstream

PROBE_TIMEOUT = aiohttp.ClientTimeout(total=4)


async def _probe(forwarder: Forwarder, upstream: Upstream) -> tuple[str, dict[str, Any]]:
    started = time.perf_counter()
    try:
        async with forwarder.session.get(upstream.base_url + "/readyz", timeout=PROBE_TIMEOUT) as resp:
            body = await resp.json(content_type=None)
            detail: dict[str, Any] = {"ready": resp.status == 200, "status": resp.status}
            if isinstance(body, dict) and isinstance(body.get("checks"), dict):
                # Only the verdicts: error texts name internal addresses.
                detail["checks"] = {
                    name: {"ok": bool(check.get("ok"))} if isinstance(check, dict) else {"ok": False}
                    for name, check in body["checks"].items()
                }
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        detail = {"ready": False, "error": type(exc).__name__}
    detail["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return upstream.spec.slug, detail


async def services_ready(request: Request) -> tuple[bool, dict[str, Any]]:
    """Readiness of every backend service, keyed by service name."""
    forwarder: Forwarder = request.app.state.forwarder
    results = await asyncio.gather(*(_probe(forwarder, u) for u in forwarder.routes.upstreams.values()))
    services = dict(results)
    return all(d["ready"] for d in services.values()), services
