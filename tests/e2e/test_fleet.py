"""The fleet behind the gateway: every service ready, routed, and speaking problem+json."""

from __future__ import annotations

import json
import re

import httpx
from prometheus_client.parser import text_string_to_metric_families

from aintech_contracts.fleet import BACKENDS, FLEET

from .conftest import Fleet

SEED_PASSWORD = "Aintech-Demo-2026!"


def test_gateway_reports_every_service_ready(gw: httpx.Client) -> None:
    resp = gw.get("/readyz")
    assert resp.status_code == 200
    services = resp.json()["services"]
    assert set(services) == {s.slug for s in BACKENDS}
    assert all(
        s["ready"] and s["checks"]["database"]["ok"] and s["checks"]["kafka"]["ok"] for s in services.values()
    )


def test_every_service_is_routed_through_the_gateway(gw: httpx.Client) -> None:
    token = gw.post("/api/auth/login", json={"email": "agent1@aintech.com", "password": SEED_PASSWORD})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    for spec in BACKENDS:
        resp = gw.get(
            f"/api/{spec.route}/e2e-probe", headers={**headers, "X-Correlation-ID": f"e2e-{spec.slug}"}
        )
        # the service's own 404: it saw the path without the public prefix
        assert resp.status_code == 404, spec.slug
        assert resp.json()["instance"] == "/e2e-probe", spec.slug
        assert resp.headers["x-correlation-id"] == f"e2e-{spec.slug}"
        # its operational surfaces stay inside
        assert (
            gw.get(f"/api/{spec.route}/healthz", headers=headers).json()["instance"]
            == f"/api/{spec.route}/healthz"
        )


def test_errors_through_the_gateway_are_problem_json(gw: httpx.Client) -> None:
    token = gw.post("/api/auth/login", json={"email": "agent1@aintech.com", "password": SEED_PASSWORD})
    missing = gw.get(
        "/api/crm/no-such-thing", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["instance"] == "/no-such-thing"
    unknown = gw.get("/api/nothing/here")
    assert unknown.status_code == 404
    assert "No service is published" in unknown.json()["detail"]


def _counter(metrics: str, name: str, labels: dict[str, str]) -> float:
    """The value of one labelled sample in a Prometheus exposition (0 when it is not there yet)."""
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def test_metrics_count_the_forwarded_requests(gw: httpx.Client) -> None:
    jwks = {"service": "gateway", "method": "GET", "route": "/api/auth/{path}", "status": "200"}
    refused = {"service": "gateway", "method": "GET", "route": "/api/analytics/{path}", "status": "401"}
    before = gw.get("/metrics").text
    for _ in range(3):
        assert gw.get("/api/auth/.well-known/jwks.json").status_code == 200
    for _ in range(2):
        assert gw.get("/api/analytics/reports").status_code == 401  # no token: refused at the edge
    after = gw.get("/metrics").text
    assert _counter(after, "http_requests_total", jwks) - _counter(before, "http_requests_total", jwks) == 3
    assert (
        _counter(after, "http_requests_total", refused) - _counter(before, "http_requests_total", refused)
        == 2
    )


def test_gateway_publishes_one_openapi_for_the_platform(gw: httpx.Client) -> None:
    spec = gw.get("/openapi.json").json()
    assert "x-unavailable-services" not in spec
    login = spec["paths"]["/api/auth/login"]["post"]
    assert login["tags"][0] == "authenticator"
    ref = json.dumps(login)
    assert '"#/components/schemas/auth.' in ref
    for name in (r.split("/")[-1] for r in re.findall(r'"(#/components/schemas/[^"]+)"', json.dumps(spec))):
        assert name in spec["components"]["schemas"], f"dangling $ref {name}"
    assert {t["name"] for t in spec["tags"]} >= {s.slug for s in BACKENDS}


def test_every_worker_reports_its_loops_alive(fleet: Fleet) -> None:
    for spec in FLEET:
        resp = httpx.get(f"http://127.0.0.1:{spec.port + 100 + fleet.port_offset}/healthz", timeout=30)
        assert resp.status_code == 200, spec.slug
        body = resp.json()
        assert body["service"] == f"{spec.slug}-worker"
        assert f"relay:{spec.schema}" in body["loops"]
