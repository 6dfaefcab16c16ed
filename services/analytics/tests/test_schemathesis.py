"""Property-based API fuzzing: schemathesis generates requests from analytics' OpenAPI; none may
5xx, every refusal is problem+json, every answer is as documented (`aintech_devtools.fuzzing`)."""

from __future__ import annotations

from fastapi import FastAPI

from aintech_contracts.rbac import Role
from aintech_devtools.fuzzing import fuzz_app

from .conftest import Api


async def test_generated_requests_never_get_a_server_error(api: Api, app: FastAPI) -> None:
    run = await fuzz_app(app, headers=api.auth(Role.admin), examples=15, base_url="http://analytics.test")
    run.assert_clean(min_operations=2, min_sent=20)
