"""Login sessions: one per device sign-in, the family of its refresh tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from authenticator.core.base import Base, created_column, ts_column, uuid_pk


class Session(Base):
    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_user_id_created_at", "user_id", "created_at"),
        Index("ix_sessions_expires_at", "expires_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("auth.users.id", ondelete="CASCADE"), nullable=False
    )
    created_at: Mapped[datetime] = created_column()
    # When the user last proved a factor in this session: the sign-in, or a password confirmation.
    authenticated_at: Mapped[datetime] = created_column()
    last_activity_at: Mapped[datetime] = created_column()
    expires_at: Mapped[datetime] = ts_column(nullable=False)
    revoked_at: Mapped[datetime | None] = ts_column()
    revoked_reason: Mapped[str | None] = mapped_column(String(50))
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(Text)
    device: Mapped[str | None] = mapped_column(String(120))
    auth_method: Mapped[str] = mapped_column(String(30), nullable=False)
    mfa: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"), default=False)
