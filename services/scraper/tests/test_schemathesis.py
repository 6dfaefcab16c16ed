"""Property-based API fuzzing: schemathesis generates requests from scraper's OpenAPI; none may 5xx,
every refusal is problem+json, every answer is as documented (`aintech_devtools.fuzzing`)."""

from __future__ import annotations

from fastapi import FastAPI

from aintech_contracts.rbac import Role
from aintech_devtools.api import ServiceApi
from aintech_devtools.fuzzing import fuzz_app, hostile_bodies_refused


async def test_generated_requests_never_get_a_server_error(api: ServiceApi, app: FastAPI) -> None:
    run = await fuzz_app(
        app,
        headers=api.person(Role.admin).auth,
        examples=5,
        base_url="http://scraper.test",
        isolate=api.conn.begin_nested,
    )
    run.assert_clean(min_operations=10, min_sent=60)


async def test_free_form_objects_with_hostile_keys_are_422(app: FastAPI, api: ServiceApi) -> None:
    sent, wrong = await hostile_bodies_refused(app, headers=api.person(Role.admin).auth)
    assert sent > 0, "no free-form object in the document"
    assert not wrong, "\n".join(wrong[:10])
