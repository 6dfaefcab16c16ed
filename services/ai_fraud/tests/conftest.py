"""Fixtures: ai-fraud on real Postgres (one rolled-back transaction per test), test signing keys,
and helpers that feed the read model with the CRM's events as its consumers would."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from ai_fraud.app import create_app
from ai_fraud.core.runtime import Runtime
from ai_fraud.readmodel import service as readmodel
from ai_fraud.settings import Settings
from aintech_contracts.events.crm import ClaimCreated, CustomerCreated, CustomerUpdated, PolicyCreated
from aintech_contracts.rbac import Role
from aintech_devtools.api import RoleApi, platform_keys, service_api, started_app
from aintech_devtools.testing import TestKeys

IBAN = "ES9121000418450200051332"


@pytest.fixture(scope="session")
def keys() -> TestKeys:
    return platform_keys()


# The object store of the test run (claim photos uploaded through the CRM), never .local/objects.
OBJECTS = tempfile.TemporaryDirectory(prefix="fraud-objects-")


def fraud_settings() -> Settings:
    return Settings(AINTECH_OBJECT_STORE_ROOT=OBJECTS.name)


@pytest.fixture(scope="session")
async def app(admin_database_url: str, kafka_bootstrap: str, keys: TestKeys) -> AsyncIterator[FastAPI]:
    async with started_app(create_app(fraud_settings()), keys) as application:
        yield application


@dataclass
class Api(RoleApi):
    """Calls go as one supervisor (an investigator) unless told otherwise."""

    default_role: ClassVar[Role] = Role.supervisor

    @property
    def rt(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    # --- the CRM's events, applied as the read-model consumer applies them -----------------------

    async def customer(self, *, at: datetime | None = None, **fields: Any) -> uuid.UUID:
        customer_id = uuid.uuid4()
        data = CustomerCreated(
            customer_id=customer_id,
            customer_type="individual",
            first_name="Lucía",
            last_name="Martín",
            status="active",
            email=f"c-{customer_id.hex[:10]}@example.com",
            **fields,
        )
        async with self.app.state.db.transaction() as session:
            await readmodel.apply_customer(
                session, data=data, at=at or datetime.now(UTC) - timedelta(days=800)
            )
        return customer_id

    async def change_customer(
        self, customer_id: uuid.UUID, *, at: datetime, changed: list[str], **fields: Any
    ) -> None:
        data = CustomerUpdated(
            customer_id=customer_id,
            customer_type="individual",
            first_name="Lucía",
            last_name="Martín",
            status="active",
            changed_fields=changed,
            version=2,
            **fields,
        )
        async with self.app.state.db.transaction() as session:
            await readmodel.apply_customer(session, data=data, at=at)

    async def policy(
        self, customer_id: uuid.UUID, *, start: date, policy_type: str = "home", coverage: str = "150000.00"
    ) -> uuid.UUID:
        policy_id = uuid.uuid4()
        data = PolicyCreated(
            policy_id=policy_id,
            policy_number=f"POL-{policy_id.hex[:8]}",
            policy_type=policy_type,
            carrier="Mapfre",
            customer_id=customer_id,
            status="active",
            coverage_start_date=start,
            coverage_end_date=start + timedelta(days=365),
            premium_amount=Decimal("420.00"),
            premium_frequency="annual",
            coverage_amount=Decimal(coverage),
        )
        async with self.app.state.db.transaction() as session:
            await readmodel.apply_policy(session, data=data)
        return policy_id

    def claim_event(
        self,
        customer_id: uuid.UUID,
        policy_id: uuid.UUID,
        *,
        incident: datetime,
        amount: str = "1200.00",
        claim_type: str = "water_damage",
        attributes: dict[str, Any] | None = None,
    ) -> ClaimCreated:
        claim_id = uuid.uuid4()
        return ClaimCreated(
            claim_id=claim_id,
            claim_number=f"CLM-{claim_id.hex[:8]}",
            claim_type=claim_type,
            status="reported",
            customer_id=customer_id,
            policy_id=policy_id,
            policy_number="POL-1",
            incident_date=incident,
            description="Fuga de agua en la cocina",
            claimed_amount=Decimal(amount),
            attributes=attributes or {"police_report": True, "witnesses": 1},
        )

    async def claim(self, customer_id: uuid.UUID, policy_id: uuid.UUID, **kwargs: Any) -> uuid.UUID:
        data = self.claim_event(customer_id, policy_id, **kwargs)
        async with self.app.state.db.transaction() as session:
            await readmodel.apply_claim(session, data=data, at=datetime.now(UTC))
        return data.claim_id

    async def score(self, claim_id: uuid.UUID, **params: Any) -> dict[str, Any]:
        body = {"claim_id": str(claim_id), **params}
        return dict((await self.call("POST", "/analyze", json=body, expect=200)).json())

    async def outbox(self, event_type: str) -> list[dict[str, Any]]:
        rows = await self.conn.execute(
            text("SELECT payload FROM fraud.outbox WHERE event_type = :t ORDER BY seq"), {"t": event_type}
        )
        return [dict(r[0]) for r in rows]


@pytest.fixture
async def api(app: FastAPI, keys: TestKeys) -> AsyncIterator[Api]:
    async with service_api(app, keys, factory=Api, base_url="http://fraud.test") as api:
        yield api
