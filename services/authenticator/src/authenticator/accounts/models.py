"""The single-use tokens e-mailed to account holders."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from authenticator.core.base import Base, now_column, ts_column, uuid_pk


class TokenPurpose(StrEnum):
    email_verification = "email_verification"
    password_reset = "password_reset"  # noqa: S105


class OneTimeToken(Base):
    """An e-mailed single-use token (verification, password reset), stored as its SHA-256."""

    __tablename__ = "one_time_tokens"
    __table_args__ = (
        CheckConstraint("purpose IN ('email_verification', 'password_reset')", name="purpose"),
        Index("ix_one_time_tokens_user_purpose", "user_id", "purpose"),
        Index("ix_one_time_tokens_expires_at", "expires_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("auth.users.id", ondelete="CASCADE"), nullable=False
    )
    purpose: Mapped[str] = mapped_column(String(30), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = now_column()
    expires_at: Mapped[datetime] = ts_column(nullable=False)
    used_at: Mapped[datetime | None] = ts_column()
