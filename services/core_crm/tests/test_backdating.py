"""Backdated cover: a policy's cover starts no earlier than the grace period before today (default
30 days), whether sold directly or converted from a quote, unless a supervisor records a reason,
which is kept on the policy and shown by the API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from core_crm.core.base import today
from core_crm.settings import Settings

from .conftest import Api

GRACE = Settings.model_fields["backdate_grace_days"].default
HOME = {"property_address": "Calle Mayor 12", "property_type": "apartment"}


@pytest.fixture
def default_grace(app: FastAPI) -> Iterator[None]:
    """The service's default grace period (the suite's fixtures run with a long one)."""
    settings = app.state.runtime.settings
    before = settings.backdate_grace_days
    settings.backdate_grace_days = GRACE
    try:
        yield
    finally:
        settings.backdate_grace_days = before


def _policy(customer_id: str, start: date, **extra: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "policy_type": "home",
        "carrier": "Mapfre",
        "coverage_start_date": str(start),
        "coverage_end_date": str(start + timedelta(days=365)),
        "premium_amount": "420.00",
        "details": HOME,
        **extra,
    }


@pytest.mark.usefixtures("default_grace")
async def test_cover_starting_decades_ago_is_refused_unless_a_supervisor_says_why(api: Api) -> None:
    assert GRACE == 30
    customer = await api.customer()
    long_ago = today() - timedelta(days=365 * 20)
    refused = await api.call("POST", "/policies", json=_policy(customer["id"], long_ago), expect=422)
    assert refused.json()["errors"][0]["field"] == "coverage_start_date"
    assert f"at most {GRACE} days" in refused.json()["detail"]
    reason = "Póliza en papel de 2006 digitalizada; recibos pagados verificados"
    as_agent = _policy(customer["id"], long_ago, backdating_reason=reason)
    forbidden = await api.call("POST", "/policies", json=as_agent, expect=403)
    assert "supervisor" in forbidden.json()["detail"]
    supervisor = api.supervisor
    await api.call(
        "POST", "/policies", json=_policy(customer["id"], long_ago), headers=supervisor, expect=422
    )
    created = await api.call("POST", "/policies", json=as_agent, headers=supervisor, expect=201)
    shown = (await api.call("GET", f"/policies/{created.json()['id']}", expect=200)).json()
    assert shown["backdating_reason"] == reason and shown["backdated_by"] is not None
    assert shown["coverage_start_date"] == str(long_ago)


@pytest.mark.usefixtures("default_grace")
async def test_cover_within_the_grace_period_needs_no_reason(api: Api) -> None:
    customer = await api.customer()
    recent = today() - timedelta(days=GRACE)
    created = await api.call(
        "POST",
        "/policies",
        json=_policy(customer["id"], recent, backdating_reason="no hace falta"),
        expect=201,
    )
    assert created.json()["backdating_reason"] is None and created.json()["backdated_by"] is None
    too_early = today() - timedelta(days=GRACE + 1)
    await api.call("POST", "/policies", json=_policy(customer["id"], too_early), expect=422)


@pytest.mark.usefixtures("default_grace")
async def test_a_quote_converts_to_backdated_cover_only_with_a_supervisor_reason(api: Api) -> None:
    customer = await api.customer()
    quote = (
        await api.call(
            "POST",
            "/quotes",
            json={
                "customer_id": customer["id"],
                "quote_type": "home",
                "coverage_details": HOME,
                "base_premium": "300.00",
            },
            expect=201,
        )
    ).json()
    url = f"/quotes/{quote['id']}/convert"
    long_ago = str(today() - timedelta(days=365 * 30))
    refused = await api.call(
        "POST", url, json={"carrier": "Mapfre", "coverage_start_date": long_ago}, expect=422
    )
    assert refused.json()["errors"][0]["field"] == "coverage_start_date"
    assert (await api.call("GET", f"/quotes/{quote['id']}", expect=200)).json()["converted"] is False
    reason = "Cambio de corredor: continuidad de cobertura con la aseguradora"
    converted = await api.call(
        "POST",
        url,
        json={"carrier": "Mapfre", "coverage_start_date": long_ago, "backdating_reason": reason},
        headers=api.supervisor,
        expect=200,
    )
    policy = (await api.call("GET", f"/policies/{converted.json()['policy_id']}", expect=200)).json()
    assert policy["backdating_reason"] == reason and policy["coverage_start_date"] == long_ago
