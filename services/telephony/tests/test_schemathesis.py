"""Property-based API fuzzing: schemathesis generates requests from telephony's OpenAPI; none may
5xx, every refusal is problem+json, every answer is as documented (`aintech_devtools.fuzzing`).

Sent in process on real Postgres inside the test's rolled-back transaction (a savepoint per case),
with a supervisor's token (every telephony permission) who is available for calls, so requests
reach the business rules and the fake Twilio rather than stopping at 401 or "not available".
Twilio's webhooks are left out: they are signed form posts, refused with 403 before anything is
parsed, and have their own hostile-input tests (test_bad_input.py).
"""

from __future__ import annotations

from fastapi import FastAPI

from aintech_contracts.rbac import Role
from aintech_devtools.fuzzing import fuzz_app, hostile_bodies_refused

from .conftest import Api


async def test_generated_requests_never_get_a_server_error(api: Api, app: FastAPI) -> None:
    supervisor = api.person(Role.supervisor)
    await api.available_agent(supervisor.user_id)
    run = await fuzz_app(
        app,
        headers=supervisor.auth,
        examples=8,
        base_url="http://telephony.test",
        skip=lambda path: path.startswith("/webhooks/"),
        isolate=api.conn.begin_nested,
    )
    run.assert_clean(min_operations=20, min_sent=121)  # 21 operations, up to 8 each


async def test_free_form_objects_with_hostile_keys_are_422(app: FastAPI, api: Api) -> None:
    """Schemathesis draws only valid Unicode keys: lone surrogates and NUL are sent explicitly."""
    sent, wrong = await hostile_bodies_refused(app, headers=api.person(Role.supervisor).auth)
    assert sent >= 12, sent
    assert not wrong, "\n".join(wrong[:10])
