"""Property-based API fuzzing: schemathesis generates requests from the quote engine's OpenAPI; none may 5xx,
every refusal is problem+json, every answer is as documented (`aintech_devtools.fuzzing`).

Sent in process on real Postgres inside the test's rolled-back transaction (a savepoint per case),
with an administrator's token so they reach the business rules rather than stopping at 401.
"""

from __future__ import annotations

from fastapi import FastAPI

from aintech_contracts.rbac import Role
from aintech_devtools.fuzzing import fuzz_app, hostile_bodies_refused

from .conftest import Api


async def test_generated_requests_never_get_a_server_error(api: Api, app: FastAPI) -> None:
    run = await fuzz_app(
        app,
        headers=api.auth(Role.admin),
        examples=25,
        base_url="http://quotes.test",
        isolate=api.conn.begin_nested,
    )
    run.assert_clean(min_operations=5, min_sent=150)


async def test_free_form_objects_with_hostile_keys_are_422(app: FastAPI, api: Api) -> None:
    """Schemathesis draws only valid Unicode keys: lone surrogates and NUL are sent explicitly."""
    sent, wrong = await hostile_bodies_refused(app, headers=api.auth(Role.admin))
    assert sent > 0, "no free-form object in the document"
    assert not wrong, "\n".join(wrong[:10])
