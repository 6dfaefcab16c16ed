"""Report rows and report schedules (Postgres, schema ``analytics``); the PDF bytes live in the
platform's object store under ``object_key``."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, Integer, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from analytics.core.base import Base, RecordMixin, ts_column


class Report(RecordMixin, Base):
    __tablename__ = "reports"

    kind: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(20))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    step: Mapped[str | None] = mapped_column(String(80), nullable=True)
    empty: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    object_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    size_bytes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    requested_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    schedule_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = ts_column()


class ReportSchedule(RecordMixin, Base):
    __tablename__ = "report_schedules"

    kind: Mapped[str] = mapped_column(String(40))
    cron: Mapped[str] = mapped_column(String(120))
    recipients: Mapped[list[str]] = mapped_column(ARRAY(String(320)))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[datetime] = ts_column(nullable=False)
    last_run_at: Mapped[datetime | None] = ts_column()
    created_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
