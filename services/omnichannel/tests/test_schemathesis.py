"""Property-based API fuzzing: schemathesis generates requests from omnichannel's OpenAPI; none may
5xx, every refusal is problem+json, every answer is as documented (`aintech_devtools.fuzzing`).

Sent in process on real Postgres (requests commit for real; the ``db`` fixture empties omnichannel's
tables first), with an administrator's token so they reach the business rules rather than stopping
at 401. Provider webhooks are fuzzed too: unsigned, they must be refused cleanly. Bounded: a few
examples per operation.
"""

from __future__ import annotations

import time

from fastapi import FastAPI

from aintech_contracts.rbac import Role
from aintech_devtools.fuzzing import fuzz_app, hostile_bodies_refused
from aintech_shared.db import Database

from .conftest import Api


async def test_generated_requests_never_get_a_server_error(api: Api, app: FastAPI, db: Database) -> None:
    started = time.monotonic()
    run = await fuzz_app(app, headers=api.person(Role.admin).auth, examples=4, base_url="http://omni.test")
    run.assert_clean(min_operations=40, min_sent=151)
    assert time.monotonic() - started < 60, "the fuzzing budget is well under a minute"


async def test_free_form_objects_with_hostile_keys_are_422(app: FastAPI, api: Api) -> None:
    """Schemathesis draws only valid Unicode keys: lone surrogates and NUL are sent explicitly."""
    sent, wrong = await hostile_bodies_refused(app, headers=api.person(Role.admin).auth)
    assert sent >= 30, sent
    assert not wrong, "\n".join(wrong[:10])
