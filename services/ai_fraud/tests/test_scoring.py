"""Planted cases per signal, scored through `POST /analyze` and read back; staff only."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from aintech_contracts.rbac import Role

from .conftest import IBAN, Api


async def test_a_claim_three_days_after_inception_fires_the_early_claim_rule(api: Api) -> None:
    customer = await api.customer()
    policy = await api.policy(customer, start=date(2026, 3, 1))
    early = await api.claim(customer, policy, incident=datetime(2026, 3, 4, 12, tzinfo=UTC))
    late = await api.claim(
        await api.customer(),
        await api.policy(customer, start=date(2025, 1, 1)),
        incident=datetime(2026, 3, 4, 12, tzinfo=UTC),
    )
    scored = await api.score(early, language="en")
    assert [p["code"] for p in scored["parts"] if p["kind"] == "rule"] == ["early_claim"]
    assert scored["features"]["days_since_policy_start"] == 3.5
    assert scored["score"] == 35 and scored["band"] == "low"
    assert "Claim within 30 days" in scored["summary"]
    assert (await api.score(late))["parts"] == []

    stored = (await api.call("GET", f"/score/{early}?language=es", expect=200)).json()
    assert stored["score"] == 35 and "Siniestro en los primeros 30 días" in stored["summary"]
    published = await api.outbox("fraud.scored")
    assert [e["data"]["score"] for e in published if e["data"]["claim_id"] == str(early)] == [35]


async def test_several_signals_reach_the_high_band_and_publish_one_alert(api: Api) -> None:
    customer = await api.customer(iban=IBAN)
    await api.change_customer(
        customer, at=datetime.now(UTC) - timedelta(days=5), changed=["iban"], iban="ES7921000813610123456789"
    )
    policy = await api.policy(
        customer, start=datetime.now(UTC).date() - timedelta(days=10), coverage="10000.00"
    )
    old_policy = await api.policy(customer, start=date(2024, 1, 1))
    for months in (3, 7):
        await api.claim(customer, old_policy, incident=datetime.now(UTC) - timedelta(days=30 * months))
    claim = await api.claim(
        customer,
        policy,
        incident=datetime.now(UTC).replace(hour=1) - timedelta(days=1),
        amount="9500.00",
        attributes={"police_report": False, "witnesses": 0},
    )
    scored = await api.score(claim)
    codes = {p["code"] for p in scored["parts"]}
    assert codes == {
        "early_claim",
        "amount_near_limit",
        "recent_bank_or_address_change",
        "night_without_evidence",
        "frequent_claims",
    }
    assert scored["band"] == "high" and scored["score"] >= 70
    await api.score(claim)  # still high: no second alert
    alerts = [e for e in await api.outbox("fraud.alert") if e["data"]["claim_id"] == str(claim)]
    assert len(alerts) == 1
    assert alerts[0]["data"]["summary_en"].startswith("Score ")
    assert alerts[0]["data"]["summary_es"].startswith("Puntuación ")


async def test_damage_the_cover_does_not_include(api: Api) -> None:
    customer = await api.customer()
    policy = await api.policy(customer, start=date(2024, 1, 1), policy_type="life")
    claim = await api.claim(
        customer, policy, incident=datetime(2026, 2, 1, 12, tzinfo=UTC), claim_type="collision"
    )
    assert "damage_inconsistent" in {p["code"] for p in (await api.score(claim))["parts"]}


async def test_an_unsaved_claim_is_scored_and_nothing_is_stored(api: Api) -> None:
    customer = await api.customer()
    policy = await api.policy(customer, start=datetime.now(UTC).date() - timedelta(days=2))
    body = {
        "claim": {
            "customer_id": str(customer),
            "policy_id": str(policy),
            "claim_type": "fire",
            "incident_date": datetime.now(UTC).isoformat(),
            "claimed_amount": "800.00",
        },
        "language": "en",
    }
    published = len(await api.outbox("fraud.scored"))
    scored = (await api.call("POST", "/analyze", json=body, expect=200)).json()
    assert scored["stored"] is False and scored["claim_id"] is None
    assert "early_claim" in {p["code"] for p in scored["parts"]}
    assert len(await api.outbox("fraud.scored")) == published


async def test_bad_input_is_problem_json(api: Api) -> None:
    unknown = await api.call("POST", "/analyze", json={"claim_id": str(uuid.uuid4())}, expect=404)
    assert unknown.headers["content-type"] == "application/problem+json"
    both = await api.call("POST", "/analyze", json={}, expect=422)
    assert "exactly one" in both.text
    await api.call("GET", f"/score/{uuid.uuid4()}", expect=404)


async def test_fraud_data_is_never_shown_to_customers_or_agents(api: Api) -> None:
    customer = await api.customer()
    claim = await api.claim(
        customer,
        await api.policy(customer, start=date(2026, 1, 1)),
        incident=datetime(2026, 1, 2, tzinfo=UTC),
    )
    await api.score(claim)
    for role in (Role.customer, Role.agent):
        await api.call("GET", f"/score/{claim}", headers=api.auth(role), expect=403)
        await api.call("POST", "/analyze", json={"claim_id": str(claim)}, headers=api.auth(role), expect=403)
    await api.call("GET", f"/score/{claim}", headers=api.auth(Role.admin), expect=200)
