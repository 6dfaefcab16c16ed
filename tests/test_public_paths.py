"""What a service answers without a token, the gateway lets through without one.

The gateway refuses token-less requests unless the path is declared public in the fleet registry
(`ServiceSpec.public_paths`, `webhooks`). A service endpoint that works anonymously (an e-mailed
link's landing call, a provider's webhook, the chat widget page) but is not declared public would
answer 401 at the edge to exactly the people it exists for. This test asks every backend, in
process, each of its operations without a token: whatever does not answer 401 must be public at the
gateway.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient

from aintech_contracts.fleet import BACKENDS, ServiceSpec
from gateway.settings import Settings as GatewaySettings
from gateway.upstreams import Routes, Target

OPERATIONS = ("get", "post", "put", "patch", "delete")
OWN_SURFACES = {"/healthz", "/readyz", "/metrics"}  # probes, not forwarded by the gateway
PARAMETER = re.compile(r"\{[^}]+\}")


def gateway_path(spec: ServiceSpec, service_path: str) -> str:
    concrete = PARAMETER.sub("00000000-0000-4000-8000-000000000000", service_path)
    if service_path.startswith("/webhooks/"):
        return concrete
    return f"/api/{spec.route}{concrete}"


async def anonymous_operations(spec: ServiceSpec) -> list[tuple[str, str, int]]:
    """(method, path, status) of every operation of ``spec`` that does not answer 401 without a token."""
    app = importlib.import_module(f"{spec.name}.app").create_app()
    found: list[tuple[str, str, int]] = []
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://svc") as client,
    ):
        spec_doc: dict[str, Any] = (await client.get("/openapi.json")).json()
        for path, operations in spec_doc["paths"].items():
            if path in OWN_SURFACES:
                continue
            for method in OPERATIONS:
                if method not in operations:
                    continue
                concrete = PARAMETER.sub("00000000-0000-4000-8000-000000000000", path)
                body: dict[str, object] | None = {} if method in ("post", "put", "patch") else None
                answer = await client.request(method.upper(), concrete, json=body)
                if answer.status_code != 401:
                    found.append((method.upper(), path, answer.status_code))
    return found


@pytest.mark.parametrize("spec", BACKENDS, ids=[s.slug for s in BACKENDS])
async def test_every_anonymous_operation_is_public_at_the_gateway(
    spec: ServiceSpec, admin_database_url: str, kafka_bootstrap: str
) -> None:
    routes = Routes(GatewaySettings())
    not_public = []
    for method, path, status in await anonymous_operations(spec):
        target = routes.resolve(gateway_path(spec, path))
        if not (isinstance(target, Target) and target.public):
            not_public.append(f"{method} {path} answers {status} without a token")
    assert not not_public, f"{spec.slug}: declare these public in the fleet registry: {not_public}"


async def test_the_check_sees_an_anonymous_operation(admin_database_url: str, kafka_bootstrap: str) -> None:
    """The authenticator's sign-in works without a token: the probe must find it (else the test
    above could pass by finding nothing)."""
    spec = next(s for s in BACKENDS if s.name == "authenticator")
    found = {(method, path) for method, path, _ in await anonymous_operations(spec)}
    assert ("POST", "/login") in found
    assert ("GET", "/me") not in found
