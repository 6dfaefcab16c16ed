"""Calls, the queue of waiting callers, and the receipts that make webhooks idempotent."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from aintech_contracts.statuses import FINAL_CALL_STATUSES, CallStatus
from telephony.core.base import Base

# Twilio's call statuses in the order a call moves through them; the terminal ones share a rank.
STATUS_RANK: dict[str, int] = {
    CallStatus.queued: 0,
    CallStatus.initiated: 1,
    CallStatus.ringing: 2,
    CallStatus.in_progress: 3,
    **{final: 4 for final in FINAL_CALL_STATUSES},
}
TERMINAL = frozenset(s for s, rank in STATUS_RANK.items() if rank == 4)
LIVE = frozenset(s for s, rank in STATUS_RANK.items() if rank < 4)


def check_in(column: str, values: Any) -> str:
    """SQL of a CHECK constraint limiting ``column`` to the values of an enum."""
    return f"{column} IN (" + ", ".join(f"'{v.value}'" for v in values) + ")"


PRIORITIES = {1: "low", 2: "normal", 3: "high", 4: "urgent"}
PRIORITY_VALUES = {name: value for value, name in PRIORITIES.items()}


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (
        CheckConstraint("direction IN ('inbound', 'outbound')", name="direction"),
        CheckConstraint(check_in("status", CallStatus), name="status"),
        CheckConstraint("recording_consent IN ('given', 'refused')", name="recording_consent"),
        Index("ix_calls_agent_created", "agent_id", "created_at"),
        Index("ix_calls_customer_ended", "customer_id", "ended_at"),
        Index("ix_calls_phone_created", "customer_phone", "created_at"),
        Index("ix_calls_created", "created_at"),
        Index(
            "ix_calls_agent_call_sid", "agent_call_sid", postgresql_where=text("agent_call_sid IS NOT NULL")
        ),
        Index(
            "ix_calls_transcription_pending", "id", postgresql_where=text("transcription_status = 'pending'")
        ),
        Index(
            "ix_calls_transfer_call_sid",
            "transfer_call_sid",
            postgresql_where=text("transfer_call_sid IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    direction: Mapped[str] = mapped_column(String(10))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    customer_phone: Mapped[str] = mapped_column(String(40))
    our_number: Mapped[str] = mapped_column(String(40))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(20))
    department: Mapped[str | None] = mapped_column(String(20))
    outcome: Mapped[str | None] = mapped_column(String(20))
    duration: Mapped[int | None] = mapped_column(Integer)
    on_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    muted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    voicemail: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    conference_sid: Mapped[str | None] = mapped_column(String(64))
    agent_call_sid: Mapped[str | None] = mapped_column(String(64))  # the agent's softphone leg
    transfer_to_agent_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    transfer_call_sid: Mapped[str | None] = mapped_column(String(64))  # the warm-transfer target's leg
    recording_sid: Mapped[str | None] = mapped_column(String(64))
    recording_status: Mapped[str | None] = mapped_column(String(20))
    recording_url: Mapped[str | None] = mapped_column(String(500))
    recording_duration: Mapped[int | None] = mapped_column(Integer)
    transcription_status: Mapped[str | None] = mapped_column(String(20))
    transcription: Mapped[str | None] = mapped_column(Text)
    # A recorded live call's real-time transcription at the provider ("pending" until the worker
    # requested it, then "requested", "completed" or "failed"); callbacks count only for this SID.
    transcription_sid: Mapped[str | None] = mapped_column(String(64))
    # The IVR's notice was heard and not refused ("given"), or refused with a key ("refused");
    # None: not asked (outbound calls, voicemail). A refused call is never recorded.
    recording_consent: Mapped[str | None] = mapped_column(String(10))
    # The recording as kept in the platform's object store (copied from the provider, digest checked).
    recording_key: Mapped[str | None] = mapped_column(String(300))
    recording_sha256: Mapped[str | None] = mapped_column(String(64))
    recording_size: Mapped[int | None] = mapped_column(BigInteger)
    recording_archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def rank(self) -> int:
        return STATUS_RANK[self.status]

    @property
    def is_live(self) -> bool:
        return self.status in LIVE


class QueueEntry(Base):
    """A caller waiting for (or given to) an agent. Order: priority first, then the oldest."""

    __tablename__ = "call_queue"
    __table_args__ = (
        CheckConstraint("state IN ('waiting', 'assigned', 'connected', 'abandoned')", name="state"),
        CheckConstraint("priority BETWEEN 1 AND 4", name="priority"),
        Index(
            "ix_call_queue_waiting_order",
            text("priority DESC"),
            "enqueued_at",
            "id",
            postgresql_where=text("state = 'waiting'"),
        ),
        Index("ix_call_queue_assigned", "assigned_at", postgresql_where=text("state = 'assigned'")),
        Index("ix_call_queue_enqueued", "enqueued_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    call_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("calls.id", ondelete="CASCADE"), unique=True
    )
    call_sid: Mapped[str] = mapped_column(String(64))
    customer_phone: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    department: Mapped[str] = mapped_column(String(20))
    priority: Mapped[int] = mapped_column(SmallInteger)
    base_priority: Mapped[int] = mapped_column(SmallInteger)
    preferred_agent_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    state: Mapped[str] = mapped_column(String(12), default="waiting")
    enqueued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    assigned_to: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    abandoned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0, server_default=text("0"))
    # The caller's IVR choice and language as skills an agent must hold (until the wait widens it).
    required_skills: Mapped[list[str]] = mapped_column(
        ARRAY(String(20)), default=list, server_default=text("'{}'")
    )
    language: Mapped[str] = mapped_column(String(2), default="es", server_default=text("'es'"))
    widened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def priority_name(self) -> str:
        return PRIORITIES[self.priority]


class WebhookReceipt(Base):
    """One row per (kind, CallSid/RecordingSid, status) handled: a replay is a no-op."""

    __tablename__ = "webhook_receipts"
    __table_args__ = (PrimaryKeyConstraint("kind", "sid", "status"),)

    kind: Mapped[str] = mapped_column(String(20))
    sid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
