"""The platform's OpenAPI is its contract: schemathesis, every check, from outside through the gateway.

The merged document the gateway serves (`/openapi.json`) drives the schemathesis CLI against the
gateway with an administrator's token, so generated requests reach every service's business rules.
Any server error, undocumented status or body, schema-invalid request accepted, schema-valid request
refused by a rule the operation does not document, or 405 without `Allow` fails the test.

Bounded: a time budget and a few examples per operation (2 cores: about three minutes). Generated
calls may revoke the fuzzing administrator's session (an id learnt from an earlier answer): the run
signs in again after a 401. Signing out and revoking all of one's own sessions are left out (every
call would need a new sign-in); their contracts are tested in services/authenticator.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from aintech_devtools.fuzzing import failure_summary, labels, run_cli

from .conftest import Fleet

PASSWORD = "Contract-Fuzz-Key-71?"
MAX_TIME = int(os.environ.get("AINTECH_CONTRACT_FUZZ_SECONDS", "150"))
MAX_EXAMPLES = 6
# Fixed: every run (a developer's, CI's) generates the same cases; change it to explore others.
SEED = int(os.environ.get("AINTECH_CONTRACT_FUZZ_SEED", "20261207"))
# Ends the caller's own session or account: the rest of the run would be 401s.
SELF_ENDING = r"^/api/auth/(logout|me/sessions)"

# `make test-contract` (AINTECH_CONTRACT_FUZZ=1). Not part of `make test`: with two workers and a time
# budget its cases differ from run to run even under a fixed seed, and each run still finds a new
# undocumented rule (docs/architecture.md), so as a gate it would pass or fail by sampling. Every
# service's own schemathesis test (in process, repeatable) stays in `make test`.
pytestmark = pytest.mark.skipif(
    os.environ.get("AINTECH_CONTRACT_FUZZ") != "1",
    reason="the merged contract run is `make test-contract` (AINTECH_CONTRACT_FUZZ=1)",
)


@pytest.fixture(scope="module")
async def admin_login(fleet: Fleet, admin_database_url: str) -> dict[str, str]:
    email = f"contract-{uuid.uuid4().hex[:8]}@example.com"
    async with httpx.AsyncClient(base_url=fleet.gateway, timeout=30) as gw:
        registered = await gw.post(
            "/api/auth/register",
            json={"email": email, "password": PASSWORD, "first_name": "Con", "last_name": "Trato"},
        )
        assert registered.status_code == 202, registered.text
        conn = await asyncpg.connect(admin_database_url)
        try:
            await conn.execute(
                "UPDATE auth.users SET role = 'admin', email_verified_at = now() WHERE email = $1", email
            )
        finally:
            await conn.close()
        signed_in = await gw.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        return {"gateway": fleet.gateway, "email": email, "password": PASSWORD}


@pytest.mark.timeout(MAX_TIME + 600, func_only=True)  # the fleet fixture bounds its own boot
async def test_the_merged_openapi_holds_under_schemathesis(
    fleet: Fleet, admin_login: dict[str, str], tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=fleet.gateway, timeout=60) as gw:
        merged = await gw.get("/openapi.json")
    assert merged.status_code == 200
    document = merged.json()
    assert "x-unavailable-services" not in document, document.get("x-unavailable-services")
    assert len(labels(document)) > 150  # every service's operations, merged
    # The gateway refuses a call without a token before any service sees it: the document says so.
    assert document["paths"]["/api/crm/customers"]["get"]["security"] == [{"bearer": []}]
    assert "security" not in document["paths"]["/api/auth/login"]["post"]
    result = run_cli(
        schema_url=f"{fleet.gateway}/openapi.json",
        base_url=fleet.gateway,
        document=document,
        login=admin_login,
        workdir=tmp_path,
        max_time=MAX_TIME,
        max_examples=MAX_EXAMPLES,
        exclude_path_regex=SELF_ENDING,
        seed=SEED,
    )
    assert result.returncode == 0, failure_summary(result.stdout)
