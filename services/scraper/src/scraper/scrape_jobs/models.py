"""Jobs, their failure artifacts, and the per-carrier limits every worker honours."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from scraper.core.base import Base, RecordMixin, created_column, ts_column


class Job(RecordMixin, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("kind IN ('prices', 'policy_document', 'portfolio_sync')", name="kind"),
        CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')", name="status"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress"),
        Index("ix_jobs_due", "status", "carrier", "next_attempt_at"),
        Index("ix_jobs_created", "created_at", "id"),
    )

    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    carrier: Mapped[str] = mapped_column(String(40), nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    status: Mapped[str] = mapped_column(
        String(20), nullable=False, server_default=text("'queued'"), default="queued"
    )
    priority: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"), default=0)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"), default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = ts_column()
    progress: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"), default=0)
    progress_note: Mapped[str | None] = mapped_column(String(200))
    error_class: Mapped[str | None] = mapped_column(String(30))
    error_detail: Mapped[str | None] = mapped_column(Text)
    adapter_version: Mapped[str | None] = mapped_column(String(40))
    schedule_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    requested_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    started_at: Mapped[datetime | None] = ts_column()
    finished_at: Mapped[datetime | None] = ts_column()


class Artifact(Base):
    """A failed attempt's screenshot or HTML: the bytes live in the object store under
    ``object_key`` (SHA-256 recorded), kept until ``expires_at`` (the retention job deletes the
    object, then the row). The row is written first, ``stored_at`` once the object is whole: a
    row never stored is invisible and swept, so no object is ever written without a row naming it."""

    __tablename__ = "artifacts"
    __table_args__ = (
        CheckConstraint("kind IN ('screenshot', 'html')", name="kind"),
        Index("ix_artifacts_job", "job_id"),
        Index("ix_artifacts_expires", "expires_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    job_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("scraper.jobs.id", ondelete="CASCADE"), nullable=False
    )
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    content_type: Mapped[str] = mapped_column(String(60), nullable=False)
    url: Mapped[str | None] = mapped_column(String(2000))
    object_key: Mapped[str] = mapped_column(String(300), nullable=False, unique=True)
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    stored_at: Mapped[datetime | None] = ts_column()
    created_at: Mapped[datetime] = created_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class CarrierLimit(Base):
    """One row per carrier: the limits every worker honours, and when a job last started there.

    Claiming locks the carrier's row, so two workers never both take a carrier's last free slot.
    """

    __tablename__ = "carrier_limits"
    __table_args__ = (
        CheckConstraint("max_concurrent >= 1", name="max_concurrent"),
        CheckConstraint("min_interval_ms >= 0", name="min_interval_ms"),
    )

    carrier: Mapped[str] = mapped_column(String(40), primary_key=True)
    max_concurrent: Mapped[int] = mapped_column(Integer, nullable=False)
    min_interval_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    last_started_at: Mapped[datetime | None] = ts_column()
