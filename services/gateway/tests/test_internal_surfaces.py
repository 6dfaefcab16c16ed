"""A service's operational surfaces stay inside; redirects and responses never leak an internal
address or reflect a hostile Host."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import httpx

from .conftest import Gateway

INTERNAL = [
    "/api/auth/metrics",
    "/api/auth/healthz",
    "/api/auth/readyz",
    "/api/auth/docs",
    "/api/auth/redoc",
    "/api/auth/openapi.json",
    "/api/crm/docs/oauth2-redirect",
    "/api/auth/metrics/",
    "/api/auth/METRICS",
    "/api/auth/Metrics",
    "/api/telephony/OpenAPI.json",
]
TRICKS = [
    "/api/auth/%2e%2e/metrics",
    "/api/auth/.%2E/metrics",
    "/api/auth/x/../metrics",
    "/api/auth/./metrics",
    "/api/auth//metrics",
    "/api/auth/%2fmetrics",
    "/api/auth/%2Fmetrics",
    "/api/auth/x%2f..%2fmetrics",
    "/api/auth/x%5c..%5cmetrics",
    "/api/auth/%00/metrics",
    "/api/auth/%ff%fe/metrics",
    "//api/auth/metrics",
    "/webhooks/twilio/voice/../../metrics",
    "/webhooks/twilio/voice/%2e%2e/%2e%2e/api/auth/metrics",
]


async def raw_get(gateway: Gateway, target: str, headers: str = "") -> tuple[int, bytes, bytes]:
    """GET exactly ``target`` (no client-side normalisation); status, head and body."""
    url = urlsplit(gateway.url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    token = gateway.token()
    writer.write(
        f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n{headers}"
        "Connection: close\r\n\r\n".encode()
    )
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), head, body


def leaked(body: bytes) -> bool:
    return (
        b"http_requests_total" in body
        or b'"openapi"' in body
        or b'"status":"ok"' in body
        or b"swagger" in body
    )


async def test_internal_surfaces_are_not_reachable_through_the_gateway(gateway: Gateway) -> None:
    for path in INTERNAL + TRICKS:
        status, _, body = await raw_get(gateway, path)
        assert status in (400, 404), (path, status, body[:200])
        assert not leaked(body), path
        assert json.loads(body)["status"] == status, "answered as problem+json"
    # the platform's own merged documents stay
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        assert (await client.get("/docs")).status_code == 200
        spec = await client.get("/openapi.json")
        assert spec.status_code == 200 and spec.json()["info"]["title"] == "AINTECH gateway"
        assert "/api/auth/metrics" not in spec.json()["paths"]


def test_redirects_never_point_at_an_internal_address(gateway: Gateway) -> None:
    auth = gateway.auth(gateway.token())
    with httpx.Client(base_url=gateway.url) as client:
        slash = client.get("/api/auth/me/", headers=auth)  # the service's redirect_slashes
        assert slash.status_code == 307
        assert slash.headers["location"] == "/api/auth/me"
        absolute = client.get("/api/auth/redirect-absolute", headers=auth)
        assert absolute.headers["location"] == "/api/auth/me?x=1"
        external = client.get("/api/auth/redirect-external", headers=auth)
        assert external.headers["location"] == "https://accounts.google.com/o/oauth2/v2/auth?x=1"
        for resp in (slash, absolute):
            assert "127.0.0.1" not in resp.headers["location"]
        # the gateway itself does not redirect (a redirect built from Host would reflect it)
        assert client.get("/docs/").status_code == 404


def test_a_hostile_host_is_refused_and_never_reflected(gateway: Gateway) -> None:
    with httpx.Client(base_url=gateway.url) as client:
        for headers in ({"Host": "evil.example"}, {"X-Forwarded-Host": "evil.example"}):
            resp = client.get("/api/auth/oauth/google/login", headers=headers)
            assert resp.status_code == 400, resp.text
            assert "evil.example" not in resp.text
            assert all("evil.example" not in v for v in resp.headers.values())
        ok = client.get("/api/auth/oauth/google/login", headers={"Host": "api.aintech.example"})
        assert ok.status_code == 200
        # probes address the pod by IP: the gateway's own health endpoints answer any Host
        assert client.get("/healthz", headers={"Host": "10.1.2.3:8000"}).status_code == 200
