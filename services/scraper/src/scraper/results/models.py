"""One row per thing a job read: an offer's price, a parsed policy document, a portfolio policy."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Numeric, String
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from scraper.core.base import Base, created_column, uuid_pk


class Result(Base):
    __tablename__ = "results"
    __table_args__ = (
        CheckConstraint("kind IN ('price', 'policy_document', 'portfolio_policy')", name="kind"),
        Index("ix_results_observed", "observed_at", "id"),
        Index("ix_results_job", "job_id"),
        Index("ix_results_carrier", "carrier", "observed_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    job_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("scraper.jobs.id", ondelete="CASCADE"), nullable=False
    )
    carrier: Mapped[str] = mapped_column(String(40), nullable=False)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    product: Mapped[str | None] = mapped_column(String(200))
    premium: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="EUR", server_default="EUR")
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    observed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = created_column()
