"""A schedule queues one job each time its cron expression comes due (never two at once)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, DateTime, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from scraper.core.base import Base, RecordMixin, ts_column


class Schedule(RecordMixin, Base):
    __tablename__ = "schedules"
    __table_args__ = (
        CheckConstraint("kind IN ('prices', 'policy_document', 'portfolio_sync')", name="kind"),
        Index("ix_schedules_due", "enabled", "next_run_at"),
    )

    name: Mapped[str] = mapped_column(String(120), nullable=False)
    cron: Mapped[str] = mapped_column(String(120), nullable=False)
    timezone: Mapped[str] = mapped_column(String(60), nullable=False, server_default=text("'Europe/Madrid'"))
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    carrier: Mapped[str] = mapped_column(String(40), nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    max_attempts: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"), default=True)
    next_run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_run_at: Mapped[datetime | None] = ts_column()
    last_job_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
