"""Work items for agents (renewals, welcome calls, claim follow-ups, anything a workflow creates)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from aintech_contracts.statuses import TaskPriority, TaskStatus
from core_crm.core.base import Base, check_in, created_column, ts_column, uuid_pk

OPEN_TASK_STATUSES = (TaskStatus.pending, TaskStatus.in_progress)


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(check_in("status", TaskStatus), name="status"),
        CheckConstraint(check_in("priority", TaskPriority), name="priority"),
        CheckConstraint("(status = 'completed') = (completed_at IS NOT NULL)", name="completed_at"),
        Index("ix_tasks_assigned", "assigned_to", "status", "due_date"),
        Index("ix_tasks_status_due", "status", "due_date"),
        Index("ix_tasks_customer", "customer_id"),
        Index("ix_tasks_policy", "policy_id"),
        Index("ix_tasks_created", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    title: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    task_type: Mapped[str | None] = mapped_column(String(50))
    priority: Mapped[str] = mapped_column(String(20), nullable=False, server_default="medium")
    assigned_to: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.customers.id", ondelete="RESTRICT")
    )
    policy_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.policies.id", ondelete="SET NULL")
    )
    claim_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.claims.id", ondelete="SET NULL")
    )
    quote_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.quotes.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="pending")
    due_date: Mapped[datetime | None] = ts_column()
    completed_at: Mapped[datetime | None] = ts_column()
    completed_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    cancelled_at: Mapped[datetime | None] = ts_column()
    cancel_reason: Mapped[str | None] = mapped_column(String(255))
    # Set by automations so one cause creates one task (e.g. "renewal:<policy>:<term end>").
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb"), default=dict
    )
    tags: Mapped[list[str]] = mapped_column(
        ARRAY(String(50)), nullable=False, server_default=text("'{}'"), default=list
    )
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = created_column()
