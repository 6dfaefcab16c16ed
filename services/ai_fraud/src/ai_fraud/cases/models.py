"""Investigation cases (the review queue) and their notes; outcomes become training labels."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from ai_fraud.core.base import Base, now_column, ts_column, uuid_pk


class CaseStatus(StrEnum):
    open = "open"
    investigating = "investigating"
    confirmed = "confirmed"
    dismissed = "dismissed"


CLOSED = (CaseStatus.confirmed, CaseStatus.dismissed)
TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.open: frozenset({CaseStatus.investigating, CaseStatus.dismissed}),
    CaseStatus.investigating: frozenset({CaseStatus.confirmed, CaseStatus.dismissed, CaseStatus.open}),
    CaseStatus.confirmed: frozenset({CaseStatus.investigating}),
    CaseStatus.dismissed: frozenset({CaseStatus.investigating}),
}


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'investigating', 'confirmed', 'dismissed')", name="status"),
        UniqueConstraint("claim_id", name="uq_cases_claim"),
        Index("ix_cases_status", "status", "created_at", "id"),
        Index("ix_cases_assignee", "assigned_to", "status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    claim_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="open")
    score: Mapped[int | None] = mapped_column(Integer)
    band: Mapped[str | None] = mapped_column(String(10))
    assigned_to: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    outcome_reason: Mapped[str | None] = mapped_column(Text)
    opened_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"), default=1)
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()
    closed_at: Mapped[datetime | None] = ts_column()


class CaseNote(Base):
    __tablename__ = "case_notes"
    __table_args__ = (Index("ix_case_notes_case", "case_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    case_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("fraud.cases.id", ondelete="CASCADE"), nullable=False
    )
    author_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = now_column()
