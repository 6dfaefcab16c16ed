"""The model registry (every trained version, its metrics and its skops artifact) and training jobs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Float, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from ai_fraud.core.base import Base, now_column, ts_column, uuid_pk


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (
        CheckConstraint("status IN ('candidate', 'active', 'retired')", name="status"),
        Index(
            "uq_model_versions_one_active", "status", unique=True, postgresql_where=text("status = 'active'")
        ),
    )

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="candidate")
    algorithm: Mapped[str] = mapped_column(String(200), nullable=False)
    source: Mapped[str] = mapped_column(String(40), nullable=False)
    rows: Mapped[int] = mapped_column(Integer, nullable=False)
    data_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    feature_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    features: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    artifact: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    artifact_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    threshold: Mapped[float] = mapped_column(Float, nullable=False)
    trained_at: Mapped[datetime] = now_column()
    promoted_at: Mapped[datetime | None] = ts_column()
    promoted_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    previous_active: Mapped[int | None] = mapped_column(Integer)


class TrainingJob(Base):
    __tablename__ = "training_jobs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed')", name="status"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress"),
        Index("ix_training_jobs_status", "status", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="queued")
    progress: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"), default=0)
    stage: Mapped[str] = mapped_column(String(200), nullable=False, server_default="queued")
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    model_version: Mapped[int | None] = mapped_column(Integer)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = now_column()
    started_at: Mapped[datetime | None] = ts_column()
    finished_at: Mapped[datetime | None] = ts_column()
