"""Events of ai-fraud (fraud scores and alerts).

Every score of a claim is published as ``fraud.scored`` (low, review or high band, the firing
rules, the model's and the ring's parts); a score in the high band is also published as
``fraud.alert`` for the CRM and supervisors. Fraud data is staff-only: consumers never pass it
on to the customer. Key: the claim id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from aintech_contracts.events.base import EventData, declare_topic

SCORE_TOPIC = declare_topic("fraud.score", 3)

Band = Literal["low", "review", "high"]


class ScorePart(BaseModel):
    """One contribution to a score: a rule, the model or the ring, with its points."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["rule", "model", "ring", "photo"]
    code: str
    points: float = Field(description="Points this part adds on its own (0-100).")
    reason_es: str
    reason_en: str


class FraudScored(EventData):
    """A claim was scored (on creation, on every update, when its policy arrived late, on request)."""

    event_type = "fraud.scored"
    topic = SCORE_TOPIC
    claim_id: UUID
    claim_number: str | None = None
    customer_id: UUID | None = None
    score: int = Field(ge=0, le=100)
    band: Band
    previous_band: Band | None = None
    parts: list[ScorePart]
    model_version: int | None = None
    ring_id: UUID | None = None
    trigger: str = Field(
        description="The event type (a claim's, or `policy.created`/`policy.renewed` for a policy "
        "that arrived after the claim) or `analyze` that caused the score."
    )
    scored_at: datetime


class FraudAlert(EventData):
    """A claim's score entered the high band (at most once per claim): a supervisor should investigate."""

    event_type = "fraud.alert"
    topic = SCORE_TOPIC
    claim_id: UUID
    claim_number: str | None = None
    customer_id: UUID | None = None
    score: int = Field(ge=0, le=100)
    band: Literal["high"] = "high"
    summary_es: str
    summary_en: str
    ring_id: UUID | None = None
    scored_at: datetime
