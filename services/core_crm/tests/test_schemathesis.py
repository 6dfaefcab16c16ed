"""Property-based API fuzzing: schemathesis generates requests from the CRM's OpenAPI; none may 5xx,
every refusal is problem+json, every answer is as documented (`aintech_devtools.fuzzing`).

Sent in process on real Postgres inside the test's rolled-back transaction (a savepoint per case),
with an administrator's token so they reach the business rules rather than stopping at 401.
"""

from __future__ import annotations

from fastapi import FastAPI

from aintech_contracts.rbac import Role
from aintech_devtools.fuzzing import fuzz_app

from .conftest import Api


async def test_generated_requests_never_get_a_server_error(api: Api, app: FastAPI) -> None:
    run = await fuzz_app(
        app,
        headers=api.auth(Role.admin),
        examples=5,
        base_url="http://crm.test",
        isolate=api.conn.begin_nested,
    )
    run.assert_clean(min_operations=30, min_sent=151)
