"""Every service declared in the fleet serves health, readiness and metrics, and speaks problem+json."""

from __future__ import annotations

import importlib

import pytest
from httpx import ASGITransport, AsyncClient

from aintech_contracts.fleet import BACKENDS, ServiceSpec


@pytest.mark.parametrize("spec", BACKENDS, ids=[s.slug for s in BACKENDS])
async def test_service_basics(spec: ServiceSpec, admin_database_url: str, kafka_bootstrap: str) -> None:
    app = importlib.import_module(f"{spec.name}.app").create_app()
    transport = ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=transport, base_url="http://svc") as client,
    ):
        assert (await client.get("/healthz")).json() == {"status": "ok", "service": spec.slug}
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        checks = ready.json()["checks"]
        assert checks["database"] == {"ok": True} and checks["kafka"] == {"ok": True}
        assert all(check["ok"] for check in checks.values()), checks  # and any of the service's own
        assert "http_requests_total" in (await client.get("/metrics")).text
        missing = await client.get("/definitely/not/here")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        openapi = (await client.get("/openapi.json")).json()
        assert openapi["info"]["title"].startswith("AINTECH")
