"""The flow on the real broker: the CRM's customer, policy and claim events -> the read model ->
an automatic score -> `fraud.scored` and `fraud.alert` on Kafka, and a review case opened."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fastapi import FastAPI
from sqlalchemy import text

from ai_fraud.settings import Settings
from aintech_contracts.events.crm import ClaimCreated, CustomerCreated, CustomerUpdated, PolicyCreated
from aintech_devtools.testing import find_event, publish_event

from .conftest import IBAN, as_published, forget_claim, running_on_kafka


async def test_claim_created_is_scored_and_a_high_score_alerts_on_the_broker(
    app: FastAPI, kafka_bootstrap: str
) -> None:
    db = app.state.db
    customer_id, policy_id, claim_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    try:
        async with running_on_kafka(app, kafka_bootstrap, Settings()):
            person = as_published(
                {
                    "customer_id": customer_id,
                    "customer_type": "individual",
                    "first_name": "Ana",
                    "last_name": "Ruiz",
                    "status": "active",
                    "iban": IBAN,
                    "preferred_language": "en",
                }
            )
            await publish_event(
                kafka_bootstrap, CustomerCreated(**person), key=str(customer_id), source="core-crm"
            )
            changed = CustomerUpdated(
                **{**person, **as_published({"iban": "ES7921000813610123456789"})},
                changed_fields=["iban"],
                version=2,
            )
            await publish_event(kafka_bootstrap, changed, key=str(customer_id), source="core-crm")
            policy = PolicyCreated(
                policy_id=policy_id,
                policy_number="POL-FLOW",
                policy_type="home",
                carrier="AXA",
                customer_id=customer_id,
                status="active",
                coverage_start_date=(now - timedelta(days=3)).date(),
                coverage_end_date=(now + timedelta(days=362)).date(),
                premium_amount=Decimal("300.00"),
                premium_frequency="annual",
                coverage_amount=Decimal("20000.00"),
            )
            await publish_event(kafka_bootstrap, policy, key=str(policy_id), source="core-crm")
            # The claim waits until the policy is in the read model (different topics: no order between them).
            deadline = asyncio.get_running_loop().time() + 30
            async with db.engine.connect() as conn:
                while not await conn.scalar(
                    text("SELECT count(*) FROM fraud.policies WHERE id = :p"), {"p": policy_id}
                ):
                    assert asyncio.get_running_loop().time() < deadline, (
                        "policy.created never reached the read model"
                    )
                    await asyncio.sleep(0.2)
            claim = ClaimCreated(
                claim_id=claim_id,
                claim_number="CLM-FLOW",
                claim_type="collision",
                status="reported",
                customer_id=customer_id,
                policy_id=policy_id,
                policy_number="POL-FLOW",
                incident_date=now.replace(hour=1) - timedelta(days=1),
                description="Inundación",
                claimed_amount=Decimal("19000.00"),
                attributes={"police_report": False, "witnesses": 0},
            )
            await publish_event(kafka_bootstrap, claim, key=str(claim_id), source="core-crm")
            scored = await find_event(
                kafka_bootstrap,
                "fraud.score",
                lambda e: e.type == "fraud.scored" and e.data.get("claim_id") == str(claim_id),
                within=40,
            )
            assert scored is not None, "fraud.scored never reached the broker"
            assert scored[0].data["trigger"] == "claim.created"
            assert {p["code"] for p in scored[0].data["parts"]} == {
                "early_claim",
                "amount_near_limit",
                "recent_bank_or_address_change",
                "night_without_evidence",
                "damage_inconsistent",
            }
            found = await find_event(
                kafka_bootstrap,
                "fraud.score",
                lambda e: e.type == "fraud.alert" and e.data.get("claim_id") == str(claim_id),
            )
            assert found is not None, "fraud.alert never reached the broker"
            alert, key = found
            assert key == str(claim_id).encode()
            assert alert.data["score"] >= 70 and alert.data["summary_en"].startswith("Score")
            async with db.engine.connect() as conn:
                status = await conn.scalar(
                    text("SELECT status FROM fraud.cases WHERE claim_id = :c"), {"c": claim_id}
                )
            assert status == "open", "a high score opens a review case"
    finally:
        await forget_claim(db, claim_id=claim_id, policy_id=policy_id, customer_id=customer_id)
