"""One row per change of a tracked record, written by the database triggers of migration 0010_trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from core_crm.core.base import Base, check_in, created_column, ts_column, uuid_pk

ENTITIES = ("customer", "policy", "claim", "quote", "task", "workflow")
OPERATIONS = ("created", "updated", "deleted")
ACTOR_TYPES = ("user", "system")


class ChangeRecord(Base):
    """Who changed what (each field's old and new value), when, through which request or event.

    Never written by the application: triggers on the tracked tables insert it in the changing
    transaction. GDPR erasure redacts personal values in place (``redacted_at``)."""

    __tablename__ = "change_history"
    __table_args__ = (
        CheckConstraint(check_in("entity", ENTITIES), name="entity"),
        CheckConstraint(check_in("operation", OPERATIONS), name="operation"),
        CheckConstraint(check_in("actor_type", ACTOR_TYPES), name="actor_type"),
        Index("ix_change_history_entity", "entity", "entity_id", "changed_at", "id"),
        Index("ix_change_history_customer", "customer_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    entity: Mapped[str] = mapped_column(String(20), nullable=False)
    entity_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    operation: Mapped[str] = mapped_column(String(10), nullable=False)
    changes: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb"), default=dict
    )
    actor_type: Mapped[str] = mapped_column(String(10), nullable=False)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    actor_role: Mapped[str | None] = mapped_column(String(20))
    request_id: Mapped[str | None] = mapped_column(String(100))
    event_id: Mapped[str | None] = mapped_column(String(100))
    event_type: Mapped[str | None] = mapped_column(String(100))
    changed_at: Mapped[datetime] = created_column()
    redacted_at: Mapped[datetime | None] = ts_column()
