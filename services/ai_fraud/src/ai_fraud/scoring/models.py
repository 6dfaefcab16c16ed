"""The latest explained score of each claim."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, String
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from ai_fraud.core.base import Base, now_column, ts_column


class Score(Base):
    __tablename__ = "scores"
    __table_args__ = (
        CheckConstraint("score BETWEEN 0 AND 100", name="score"),
        CheckConstraint("band IN ('low', 'review', 'high')", name="band"),
        Index("ix_scores_band", "band", "scored_at"),
    )

    claim_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    score: Mapped[int] = mapped_column(Integer, nullable=False)
    band: Mapped[str] = mapped_column(String(10), nullable=False)
    parts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    features: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    model_version: Mapped[int | None] = mapped_column(Integer)
    ring_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    trigger: Mapped[str] = mapped_column(String(40), nullable=False)
    scored_at: Mapped[datetime] = now_column()
    alerted_at: Mapped[datetime | None] = ts_column()  # the claim's one `fraud.alert`
