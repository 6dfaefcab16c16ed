"""The latest fraud score of each claim (a read model of ai-fraud's `fraud.scored`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from core_crm.core.base import Base, created_column, ts_column

BANDS = ("low", "review", "high")


class ClaimFraudScore(Base):
    __tablename__ = "claim_fraud_scores"
    __table_args__ = (
        CheckConstraint("score BETWEEN 0 AND 100", name="score_range"),
        CheckConstraint("band IN ('low', 'review', 'high')", name="band"),
    )

    claim_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.claims.id", ondelete="CASCADE"), primary_key=True
    )
    score: Mapped[int] = mapped_column(Integer, nullable=False)
    band: Mapped[str] = mapped_column(String(10), nullable=False)
    scored_at: Mapped[datetime] = ts_column(nullable=False)
    model_version: Mapped[int | None] = mapped_column(Integer)
    event_id: Mapped[str] = mapped_column(String(100), nullable=False)
    alerted_at: Mapped[datetime | None] = ts_column()
    updated_at: Mapped[datetime] = created_column()
