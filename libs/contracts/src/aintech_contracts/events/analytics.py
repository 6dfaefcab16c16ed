"""Events of analytics (reports, churn scores).

Event models are added here as the context publishes them; producers and consumers import
the same model."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from aintech_contracts.events.base import EventData, declare_topic

REPORT_TOPIC = declare_topic("analytics.report", 3)

CHURN_TOPIC = declare_topic("analytics.churn", 3)


class ChurnFactor(BaseModel):
    """One feature that raised a customer's churn risk, with its share of the probability."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    feature: str
    value: float
    contribution: float = Field(description="Probability added by this feature against the typical customer.")
    es: str
    en: str


class ChurnScored(EventData):
    """A customer's probability of leaving at their next renewal was scored (the daily job, or a
    request). Critical customers within 90 days of renewal get a retention task in the CRM; the
    quote engine's dynamic pricing reads the latest risk. Key: the customer id."""

    event_type = "customer.churn_scored"
    topic = CHURN_TOPIC
    customer_id: UUID
    probability: float = Field(ge=0, le=1)
    band: Literal["critical", "high", "medium", "low"] = Field(
        description="critical > 0.7, high > 0.5, medium > 0.3, else low."
    )
    factors: list[ChurnFactor]
    action_es: str | None = None
    action_en: str | None = None
    next_renewal: date | None = None
    renewal_policy_id: UUID | None = None
    days_to_renewal: int | None = None
    model_digest: str = Field(description="SHA-256 of the model artifact that scored.")
    synthetic_training: bool = Field(description="The model was trained on the synthetic history.")
    scored_at: datetime
