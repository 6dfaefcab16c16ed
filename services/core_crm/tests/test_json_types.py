"""A number or a boolean in a request body is taken as the document states it, not as pydantic's lax
mode would read it: `false` is no integer, `0` and `"true"` are no booleans (found by the contract
run's coverage phase; the workflow and claim-note cases were answered 201 before)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from aintech_contracts.rbac import Role

from .conftest import Api


@pytest.mark.parametrize("wrong", [True, "312"])
async def test_an_interaction_duration_is_a_number(api: Api, wrong: object) -> None:
    customer = await api.customer()
    body = {"customer_id": customer["id"], "type": "call"}
    refused = await api.call("POST", "/interactions", json={**body, "duration": wrong}, expect=422)
    assert refused.headers["content-type"] == "application/problem+json"
    assert "duration" in refused.text
    made = await api.call("POST", "/interactions", json={**body, "duration": 312.0}, expect=201)
    assert made.json()["duration"] == 312


@pytest.mark.parametrize("wrong", [0, 1, "false"])
async def test_a_claim_note_is_internal_by_a_boolean(api: Api, wrong: object) -> None:
    customer = await api.customer()
    policy = await api.policy(customer["id"])
    claim = (
        await api.call(
            "POST",
            "/claims",
            json={
                "policy_id": policy["id"],
                "claim_type": "water_damage",
                "incident_date": "2026-03-10T10:00:00+01:00",
                "description": "Fuga de agua en el baño.",
                "claimed_amount": "1850.00",
            },
            expect=201,
        )
    ).json()
    url = f"/claims/{claim['id']}/notes"
    refused = await api.call("POST", url, json={"body": "Nota", "internal": wrong}, expect=422)
    assert "internal" in refused.text
    assert (await api.call("GET", url, expect=200)).json() == []
    made = await api.call("POST", url, json={"body": "Nota", "internal": False}, expect=201)
    assert made.json()["internal"] is False


async def test_a_webhook_replay_is_limited_to_failures_by_a_boolean(api: Api) -> None:
    admin = api.auth(Role.admin, sub=str(uuid.uuid4()))
    sub = (
        await api.call(
            "POST",
            "/integrations/webhooks",
            json={"url": "http://127.0.0.1:9/hook", "event_types": ["customer.created"]},
            headers=admin,
            expect=201,
        )
    ).json()
    start = datetime.now(UTC) - timedelta(hours=1)
    body = {"since": start.isoformat(), "until": (start + timedelta(hours=2)).isoformat()}
    url = f"/integrations/webhooks/{sub['id']}/replay"
    for wrong in (1, "true"):
        refused = await api.call("POST", url, json={**body, "only_failed": wrong}, headers=admin, expect=422)
        assert "only_failed" in refused.text
    await api.call("POST", url, json={**body, "only_failed": True}, headers=admin, expect=202)
