"""Who is in which signalling room, on which replica (rooms span the API replicas)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from telephony.core.base import Base


class SignallingPresence(Base):
    """One row per party connected to a call's room: the newest connection of that user wins.

    ``seen_at`` is refreshed while the connection is open; a row not refreshed for a few periods
    belongs to a replica that went away and no longer counts.
    """

    __tablename__ = "signalling_presence"
    __table_args__ = (Index("ix_signalling_presence_seen", "seen_at"),)

    call_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    connection_id: Mapped[str] = mapped_column(String(32))
    replica: Mapped[str] = mapped_column(String(32))
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
