"""Failed-login counters per account and per IP address."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from authenticator.core.base import Base, ts_column


class LoginThrottle(Base):
    __tablename__ = "login_throttles"
    __table_args__ = (Index("ix_login_throttles_last_failure_at", "last_failure_at"),)

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"), default=0)
    first_failure_at: Mapped[datetime] = ts_column(nullable=False)
    last_failure_at: Mapped[datetime] = ts_column(nullable=False)
    next_allowed_at: Mapped[datetime | None] = ts_column()
    locked_until: Mapped[datetime | None] = ts_column()
