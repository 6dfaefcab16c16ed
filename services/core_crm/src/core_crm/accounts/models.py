"""What the CRM knows about the authenticator's users, from `auth.user` events."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Index, String, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from core_crm.core.base import Base, created_column


class Account(Base):
    """One user of the authenticator. Rows may be created by whichever of `user.registered` or
    `user.email_verified` arrives first; the other fills in the rest."""

    __tablename__ = "accounts"
    __table_args__ = (
        Index("ix_accounts_email", text("lower(email)")),
        Index("ix_accounts_role_active", "role", "active"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str | None] = mapped_column(String(20))
    email_verified: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    updated_at: Mapped[datetime] = created_column()
