"""A claim that reaches ai-fraud before its policy (policy and claim events travel on different
topics) is rescored when the policy arrives: the stored score gains the policy's signals, a new
`fraud.scored` goes out, and `fraud.alert` only once."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from ai_fraud.flows import policy_arrived
from aintech_contracts.events.crm import ClaimCreated, CustomerCreated, PolicyCreated
from aintech_devtools.api import eventually
from aintech_devtools.testing import find_event, publish_event

from .conftest import Api, forget_claim, fraud_settings, running_on_kafka

POLICY_SIGNALS = {"early_claim", "amount_near_limit"}


def _policy(policy_id: uuid.UUID, customer_id: uuid.UUID, start: date, coverage: str) -> PolicyCreated:
    return PolicyCreated(
        policy_id=policy_id,
        policy_number=f"POL-{policy_id.hex[:8]}",
        policy_type="home",
        carrier="AXA",
        customer_id=customer_id,
        status="active",
        coverage_start_date=start,
        coverage_end_date=start + timedelta(days=365),
        premium_amount=Decimal("300.00"),
        premium_frequency="annual",
        coverage_amount=Decimal(coverage),
    )


async def _stored(db: Any, claim_id: uuid.UUID) -> tuple[str, set[str], str | None] | None:
    async with db.engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT trigger, parts, band FROM fraud.scores WHERE claim_id = :c"), {"c": claim_id}
            )
        ).first()
    return None if row is None else (row[0], {p["code"] for p in row[1]}, row[2])


async def test_a_claim_scored_before_its_policy_is_rescored_with_the_policy_signals_over_kafka(
    app: FastAPI, kafka_bootstrap: str
) -> None:
    db = app.state.db
    run = uuid.uuid4().hex[:8]
    customer_id, policy_id, claim_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    try:
        async with running_on_kafka(app, kafka_bootstrap, fraud_settings()):
            customer = CustomerCreated(
                customer_id=customer_id,
                customer_type="individual",
                first_name="Pablo",
                last_name="Sanz",
                status="active",
                email=f"late-{run}@example.com",
                preferred_language="en",
            )
            await publish_event(kafka_bootstrap, customer, key=str(customer_id), source="core-crm")
            # The claim first: ai-fraud scores it without knowing its policy.
            claim = ClaimCreated(
                claim_id=claim_id,
                claim_number=f"CLM-{run}",
                claim_type="collision",  # on a home policy: inconsistent, once the policy is known
                status="reported",
                customer_id=customer_id,
                policy_id=policy_id,
                policy_number=f"POL-{policy_id.hex[:8]}",
                incident_date=now.replace(hour=1) - timedelta(days=1),
                description="Inundación en el salón",
                claimed_amount=Decimal("9500.00"),
                attributes={"police_report": False, "witnesses": 0},
            )
            await publish_event(kafka_bootstrap, claim, key=str(claim_id), source="core-crm")
            first = await eventually(
                lambda: _stored(db, claim_id), within=40, what="the claim scored without its policy"
            )
            assert first is not None
            assert first[0] == "claim.created" and not POLICY_SIGNALS & first[1], first
            assert first[2] != "high", "without the policy the claim is not high yet"

            # Then the policy: three days old, the claim at 95% of its limit.
            policy = _policy(policy_id, customer_id, (now - timedelta(days=3)).date(), "10000.00")
            await publish_event(kafka_bootstrap, policy, key=str(policy_id), source="core-crm")

            async def rescored() -> Any:
                found = await _stored(db, claim_id)
                return found if found and found[0] == "policy.created" else None

            _, codes, band = await eventually(rescored, within=40, what="the claim rescored with its policy")
            assert POLICY_SIGNALS | {"damage_inconsistent", "night_without_evidence"} <= codes
            assert band == "high"

            event = await find_event(
                kafka_bootstrap,
                "fraud.score",
                lambda e: (
                    e.type == "fraud.scored"
                    and e.data.get("claim_id") == str(claim_id)
                    and e.data.get("trigger") == "policy.created"
                ),
                within=40,
            )
            assert event is not None, "the rescore never reached the broker as fraud.scored"
            assert {p["code"] for p in event[0].data["parts"]} >= POLICY_SIGNALS
            assert event[0].data["previous_band"] == first[2]
            alert = await find_event(
                kafka_bootstrap,
                "fraud.score",
                lambda e: e.type == "fraud.alert" and e.data.get("claim_id") == str(claim_id),
                within=40,
            )
            assert alert is not None, "entering the high band on the rescore raises the alert"
            async with db.engine.connect() as conn:
                alerts = await conn.scalar(
                    text("SELECT count(*) FROM fraud.outbox WHERE event_type = 'fraud.alert' AND key = :k"),
                    {"k": str(claim_id)},
                )
            assert alerts == 1
    finally:
        await forget_claim(db, claim_id=claim_id, policy_id=policy_id, customer_id=customer_id)


async def test_a_policy_seen_again_unchanged_rescores_nothing_and_a_changed_one_rescores_open_claims(
    api: Api,
) -> None:
    customer = await api.customer()
    policy_id = uuid.uuid4()
    claim = await api.claim(
        customer, policy_id, incident=datetime.now(UTC) - timedelta(days=2), amount="9000.00"
    )
    closed = await api.claim(customer, policy_id, incident=datetime.now(UTC) - timedelta(days=9))
    async with api.app.state.db.transaction() as session:
        await session.execute(text("UPDATE fraud.claims SET status = 'paid' WHERE id = :c"), {"c": closed})
    await api.score(claim)
    policy = _policy(policy_id, customer, date.today() - timedelta(days=4), "10000.00")

    async def arrive(data: PolicyCreated) -> list[Any]:
        async with api.app.state.db.transaction() as session:
            return await policy_arrived(session, rt=api.rt, data=data, trigger="policy.created")

    rescored = await arrive(policy)
    assert [r.claim_id for r in rescored] == [claim], "only the open claim is rescored"
    assert {p["code"] for p in rescored[0].parts} >= POLICY_SIGNALS
    assert await arrive(policy) == [], "the same policy again changes nothing scoring reads"
    grown = await arrive(policy.model_copy(update={"coverage_amount": Decimal("100000.00")}))
    assert [r.claim_id for r in grown] == [claim]
    assert "amount_near_limit" not in {p["code"] for p in grown[0].parts}
    stored = await api.call("GET", f"/score/{claim}", expect=200)
    assert "amount_near_limit" not in {p["code"] for p in stored.json()["parts"]}
