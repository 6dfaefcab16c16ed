"""A critical churn score from analytics near renewal becomes one retention task per customer and
term; other scores create none."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Literal

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events.analytics import ChurnFactor, ChurnScored
from core_crm.consumers import consumer_specs
from core_crm.core.base import today

from .conftest import Api


def _score(
    customer_id: str, *, probability: float, band: Literal["critical", "high"], days: int
) -> ChurnScored:
    return ChurnScored(
        customer_id=uuid.UUID(customer_id),
        probability=probability,
        band=band,
        factors=[
            ChurnFactor(feature="premium_change", value=0.45, contribution=0.3, es="Subida de prima", en="x")
        ],
        action_es="Revisar la prima de renovación",
        next_renewal=today() + timedelta(days=days),
        days_to_renewal=days,
        model_digest="0" * 64,
        synthetic_training=True,
        scored_at=datetime.now(UTC),
    )


async def _deliver(api: Api, app: FastAPI, payload: ChurnScored) -> None:
    spec = next(s for s in consumer_specs(app.state.runtime) if s.name == "core-crm.retention")
    event = CloudEvent.wrap(payload, type_=payload.event_type, source="analytics", subject=None)
    async with AsyncSession(bind=api.conn, join_transaction_mode="create_savepoint") as session:
        await spec.handlers[payload.event_type](session, event)
        await session.commit()


async def _retention_tasks(api: Api, customer_id: str) -> list[dict[str, object]]:
    rows = await api.conn.execute(
        text(
            "SELECT title, description, priority, dedupe_key FROM crm.tasks"
            " WHERE customer_id = :c AND task_type = 'retention'"
        ),
        {"c": customer_id},
    )
    return [dict(r._mapping) for r in rows]


async def test_a_critical_score_near_renewal_opens_one_retention_task(api: Api, app: FastAPI) -> None:
    customer = await api.customer()
    await _deliver(api, app, _score(customer["id"], probability=0.82, band="critical", days=60))
    await _deliver(
        api, app, _score(customer["id"], probability=0.85, band="critical", days=60)
    )  # next day's score
    [task] = await _retention_tasks(api, customer["id"])
    assert task["priority"] == "high"
    assert "82%" in str(task["description"]) and "Subida de prima" in str(task["description"])
    assert "Revisar la prima" in str(task["description"])


async def test_lower_bands_and_far_renewals_open_no_task(api: Api, app: FastAPI) -> None:
    customer = await api.customer()
    await _deliver(api, app, _score(customer["id"], probability=0.6, band="high", days=30))
    await _deliver(api, app, _score(customer["id"], probability=0.9, band="critical", days=200))
    assert await _retention_tasks(api, customer["id"]) == []
