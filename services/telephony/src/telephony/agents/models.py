"""Agent status (one row per agent) and its history (availability is computed from it)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Identity, Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from aintech_contracts.statuses import AgentState
from telephony.core.base import Base

_STATE_CHECK = "status IN (" + ", ".join(f"'{state.value}'" for state in AgentState) + ")"


class AgentStatus(Base):
    __tablename__ = "agent_status"
    __table_args__ = (
        CheckConstraint(_STATE_CHECK, name="status"),
        Index("ix_agent_status_available", "last_status_change", postgresql_where="status = 'available'"),
    )

    agent_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    current_call_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    reason: Mapped[str | None] = mapped_column(String(100))
    last_status_change: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    capabilities: Mapped[dict[str, object]] = mapped_column(JSONB, default=dict)
    # Skills set by supervisors: {"claims": 3, "es": 5, ...} (level 1-5); none recorded = a generalist.
    skills: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    # The account was disabled, or its role no longer handles calls (authenticator's auth.user events):
    # the agent is offline and out of the assignment pool until both are cleared.
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    role_withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def withdrawn(self) -> bool:
        """The agent may not take calls (account disabled or role changed away)."""
        return self.disabled_at is not None or self.role_withdrawn_at is not None


class AgentStatusChange(Base):
    """Every status an agent entered, and when: the intervals behind availability %."""

    __tablename__ = "agent_status_changes"
    __table_args__ = (
        CheckConstraint(_STATE_CHECK, name="status"),
        Index("ix_agent_status_changes_agent_at", "agent_id", "changed_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
