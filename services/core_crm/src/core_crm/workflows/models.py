"""Workflow definitions (versioned) and their durable executions, step by step."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from core_crm.core.base import Base, check_in, created_column, ts_column, uuid_pk


class TriggerType(StrEnum):
    manual = "manual"
    event = "event"
    schedule = "schedule"


class ExecutionStatus(StrEnum):
    pending = "pending"  # due to run its current step at next_run_at
    running = "running"
    waiting = "waiting"  # a wait_duration step: resumes at next_run_at
    retrying = "retrying"  # the current step failed; retried at next_run_at
    completed = "completed"
    failed = "failed"  # retries exhausted; can be retried from the failed step
    cancelled = "cancelled"


DUE_STATUSES = (ExecutionStatus.pending, ExecutionStatus.waiting, ExecutionStatus.retrying)
# What the worker's pass picks up at next_run_at: a `running` execution there has a webhook call
# in flight until its lease (next_run_at) runs out.
CLAIMABLE_STATUSES = (*DUE_STATUSES, ExecutionStatus.running)


class Workflow(Base):
    __tablename__ = "workflows"
    __table_args__ = (
        CheckConstraint(check_in("trigger_type", TriggerType), name="trigger_type"),
        Index("ix_workflows_event", "event_type", postgresql_where=text("active AND trigger_type = 'event'")),
        Index(
            "ix_workflows_schedule",
            "next_fire_at",
            postgresql_where=text("active AND trigger_type = 'schedule'"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    current_version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    # The current version's trigger, denormalised for the trigger lookups.
    trigger_type: Mapped[str] = mapped_column(String(20), nullable=False)
    event_type: Mapped[str | None] = mapped_column(String(100))
    next_fire_at: Mapped[datetime | None] = ts_column()
    execution_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    last_executed_at: Mapped[datetime | None] = ts_column()
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = created_column()
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class WorkflowVersion(Base):
    """An immutable version of a definition; executions run the version they started with."""

    __tablename__ = "workflow_versions"
    __table_args__ = (PrimaryKeyConstraint("workflow_id", "version"),)

    workflow_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.workflows.id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    trigger_type: Mapped[str] = mapped_column(String(20), nullable=False)
    trigger_config: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb"), default=dict
    )
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = created_column()
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class WorkflowExecution(Base):
    __tablename__ = "workflow_executions"
    __table_args__ = (
        CheckConstraint(check_in("status", ExecutionStatus), name="status"),
        ForeignKeyConstraint(
            ["workflow_id", "version"],
            ["crm.workflow_versions.workflow_id", "crm.workflow_versions.version"],
            name="fk_workflow_executions_version",
        ),
        Index("ix_workflow_executions_workflow", "workflow_id", "started_at"),
        Index("ix_workflow_executions_status", "status"),
        Index(
            "ix_workflow_executions_due",
            "next_run_at",
            postgresql_where=text("status IN ('pending', 'waiting', 'retrying', 'running')"),
        ),
        Index(
            "uq_workflow_executions_trigger",
            "workflow_id",
            "trigger_key",
            unique=True,
            postgresql_where=text("trigger_key IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    workflow_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="pending")
    trigger_type: Mapped[str] = mapped_column(String(20), nullable=False)
    # An event id or a schedule slot: the same cause starts one execution.
    trigger_key: Mapped[str | None] = mapped_column(String(200))
    trigger_data: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb"), default=dict
    )
    current_step: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    steps_completed: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    steps_total: Mapped[int] = mapped_column(Integer, nullable=False)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    next_run_at: Mapped[datetime | None] = ts_column()
    error_message: Mapped[str | None] = mapped_column(Text)
    results: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb"), default=dict
    )
    triggered_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    started_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = created_column()
    completed_at: Mapped[datetime | None] = ts_column()


class WorkflowStepRun(Base):
    """One attempt at one step of an execution, with its output or error."""

    __tablename__ = "workflow_step_runs"
    __table_args__ = (Index("ix_workflow_step_runs_execution", "execution_id", "step_index", "attempt"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    execution_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("crm.workflow_executions.id", ondelete="CASCADE"), nullable=False
    )
    step_index: Mapped[int] = mapped_column(Integer, nullable=False)
    step_type: Mapped[str] = mapped_column(String(30), nullable=False)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = created_column()
    finished_at: Mapped[datetime | None] = ts_column()
