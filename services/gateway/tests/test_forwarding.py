"""The gateway forwards faithfully to a service on loopback, and explains when it cannot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from httpx import ASGITransport, AsyncClient

from aintech_contracts.fleet import BY_NAME
from aintech_devtools.testing import TestKeys
from gateway.app import create_app
from gateway.settings import Settings

from .conftest import free_port_block

CRM = BY_NAME["core_crm"]
TELEPHONY = BY_NAME["telephony"]


@pytest.fixture(scope="module")
async def fake_crm(keys: TestKeys) -> AsyncIterator[tuple[int, list[dict[str, object]]]]:
    """A stand-in core-crm (and telephony webhook owner) that echoes what it received."""
    seen: list[dict[str, object]] = []
    offset = free_port_block(25000)

    async def jwks(request: web.Request) -> web.Response:
        return web.json_response(keys.jwks())

    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        seen.append({"method": request.method, "path": request.path, "query": request.query_string})
        return web.json_response(
            {
                "method": request.method,
                "path": request.path,
                "query": request.query_string,
                "body": body.decode(),
                "headers": {k.lower(): v for k, v in request.headers.items()},
            },
            status=201 if request.method == "POST" else 200,
            headers={"X-Policy-Count": "3", "Set-Cookie": "a=b"},
        )

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(3)
        return web.json_response({})

    app = web.Application()
    app.router.add_route("GET", "/.well-known/jwks.json", jwks)
    app.router.add_route("GET", "/slow", slow)
    app.router.add_route("*", "/{tail:.*}", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    sites = [web.TCPSite(runner, "127.0.0.1", spec.port + offset) for spec in (CRM, TELEPHONY)]
    for site in sites:
        await site.start()
    try:
        yield offset, seen
    finally:
        await runner.cleanup()


def edge_settings(offset: int, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "port_offset": offset,
        "AINTECH_JWKS_URL": f"http://127.0.0.1:{CRM.port + offset}/.well-known/jwks.json",
        "allowed_hosts": ["api.aintech.es", "gw"],
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def gateway(
    fake_crm: tuple[int, list[dict[str, object]]], keys: TestKeys
) -> AsyncIterator[AsyncClient]:
    offset, _ = fake_crm
    app = create_app(edge_settings(offset, read_timeout=1.0))
    async with app.router.lifespan_context(app):
        assert await app.state.denylist_feed.wait_caught_up(30)
        transport = ASGITransport(app=app, client=("203.0.113.9", 5555))
        async with AsyncClient(
            transport=transport,
            base_url="https://api.aintech.es",
            headers={"Authorization": f"Bearer {keys.token()}"},
        ) as client:
            yield client


async def test_forwards_method_path_query_body_and_headers(gateway: AsyncClient) -> None:
    resp = await gateway.post(
        "/api/crm/customers/42/notes?draft=true&tag=a&tag=b",
        json={"text": "Llamar mañana"},
        headers={"X-Correlation-ID": "corr-7"},
    )
    assert resp.status_code == 201
    echoed = resp.json()
    assert echoed["method"] == "POST"
    assert echoed["path"] == "/customers/42/notes"
    assert echoed["query"] == "draft=true&tag=a&tag=b"
    assert echoed["body"] == '{"text":"Llamar mañana"}'
    headers = echoed["headers"]
    assert headers["authorization"] == gateway.headers["authorization"]
    assert headers["x-aintech-identity"].startswith("v1.")
    assert headers["x-forwarded-for"] == "203.0.113.9"
    assert headers["x-forwarded-proto"] == "https"
    assert headers["x-forwarded-host"] == "api.aintech.es"
    assert headers["x-forwarded-prefix"] == "/api/crm"
    assert headers["x-correlation-id"] == "corr-7"
    assert headers["x-request-id"] == resp.headers["x-request-id"]
    assert resp.headers["x-policy-count"] == "3"
    assert resp.headers["set-cookie"] == "a=b"


async def test_every_method_is_forwarded(gateway: AsyncClient) -> None:
    for method in ("GET", "PUT", "PATCH", "DELETE", "OPTIONS"):
        resp = await gateway.request(method, "/api/crm/policies/9")
        assert resp.status_code == 200, method
        assert resp.json()["method"] == method
    head = await gateway.head("/api/crm/policies/9")
    assert head.status_code == 200


async def test_webhooks_keep_their_path_for_signature_checks(gateway: AsyncClient) -> None:
    resp = await gateway.post("/webhooks/twilio/voice/status", data={"CallSid": "CA1"})
    assert resp.status_code == 201
    assert resp.json()["path"] == "/webhooks/twilio/voice/status"
    assert resp.json()["body"] == "CallSid=CA1"
    unknown = await gateway.post("/webhooks/stripe/events")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"


async def test_unknown_service_is_a_problem(gateway: AsyncClient) -> None:
    resp = await gateway.get("/api/payroll/x")
    assert resp.status_code == 404
    assert "No service is published at /api/payroll" in resp.json()["detail"]


async def test_down_service_is_502_and_slow_service_is_504(gateway: AsyncClient) -> None:
    down = await gateway.get("/api/quotes/rates")
    assert down.status_code == 502
    assert down.json()["service"] == "quote-engine"
    assert down.headers["content-type"] == "application/problem+json"
    slow = await gateway.get("/api/crm/slow")
    assert slow.status_code == 504
    assert slow.json()["title"] == "Service timed out"


async def test_readyz_names_the_services_that_are_not_ready(gateway: AsyncClient) -> None:
    resp = await gateway.get("/readyz")
    assert resp.status_code == 503
    services = resp.json()["services"]
    assert set(services) == {s.slug for s in BY_NAME.values() if s.route}
    assert services["analytics"]["ready"] is False


async def test_oversized_body_is_413(gateway: AsyncClient) -> None:
    resp = await gateway.post("/api/crm/documents", content=b"x" * (10 * 1024 * 1024 + 1))
    assert resp.status_code == 413


async def test_spoofed_forwarded_for_from_an_untrusted_client_is_replaced(gateway: AsyncClient) -> None:
    resp = await gateway.get("/api/crm/me", headers={"X-Forwarded-For": "10.9.9.9"})
    assert resp.json()["headers"]["x-forwarded-for"] == "203.0.113.9"


async def test_forwarded_for_from_a_trusted_proxy_is_extended(
    fake_crm: tuple[int, list[dict[str, object]]], keys: TestKeys
) -> None:
    offset, _ = fake_crm
    app = create_app(edge_settings(offset, trusted_proxies=["10.0.0.0/8"]))
    async with app.router.lifespan_context(app):
        assert await app.state.denylist_feed.wait_caught_up(30)
        transport = ASGITransport(app=app, client=("10.1.2.3", 4444))
        async with AsyncClient(transport=transport, base_url="http://gw") as client:
            resp = await client.get(
                "/api/crm/me",
                headers={"X-Forwarded-For": "198.51.100.7", "Authorization": f"Bearer {keys.token()}"},
            )
    assert resp.json()["headers"]["x-forwarded-for"] == "198.51.100.7, 10.1.2.3"


async def test_one_openapi_document_for_the_platform(gateway: AsyncClient) -> None:
    spec = (await gateway.get("/openapi.json")).json()
    assert "/healthz" in spec["paths"], "the gateway's own operations stay"
    # the fake core-crm answers every path with its echo, so its "document" has no paths;
    # every other service is down and is listed as unavailable rather than failing the page
    assert "quote-engine" in spec["x-unavailable-services"]
    assert "core-crm" not in spec["x-unavailable-services"]
    docs = await gateway.get("/docs")
    assert docs.status_code == 200
    assert "/openapi.json" in docs.text


async def test_forwarded_request_continues_the_callers_trace(
    fake_crm: tuple[int, list[dict[str, object]]], keys: TestKeys
) -> None:
    """With tracing on, the gateway's server span continues the caller's traceparent and the
    service receives the gateway's span as its parent (one trace across the hop)."""
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind

    from aintech_shared import tracing

    exporter = InMemorySpanExporter()
    tracing.configure("gateway", exporter=exporter)
    try:
        offset, _ = fake_crm
        app = create_app(edge_settings(offset))
        caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        async with app.router.lifespan_context(app):
            assert await app.state.denylist_feed.wait_caught_up(30)
            transport = ASGITransport(app=app, client=("203.0.113.9", 5555))
            async with AsyncClient(transport=transport, base_url="https://api.aintech.es") as client:
                resp = await client.get(
                    "/api/crm/policies/9",
                    headers={"Authorization": f"Bearer {keys.token()}", "traceparent": caller},
                )
        assert resp.status_code == 200
        forwarded = resp.json()["headers"]["traceparent"]
    finally:
        tracing.shutdown()
    server = next(s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER)
    assert server.context is not None and server.parent is not None
    assert format(server.context.trace_id, "032x") == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert format(server.parent.span_id, "016x") == "00f067aa0ba902b7"
    _, trace_id, parent_id, _ = forwarded.split("-")
    assert trace_id == "4bf92f3577b34da6a3ce929d0e0e4736", "the service continues the same trace"
    assert parent_id == format(server.context.span_id, "016x"), "under the gateway's span"
    assert server.attributes is not None and server.attributes["aintech.correlation_id"]
