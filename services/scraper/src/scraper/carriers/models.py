"""The broker's account on each carrier portal: where it is and its credentials, encrypted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from scraper.core.base import Base, created_column, ts_column


class PortalAccount(Base):
    __tablename__ = "portal_accounts"

    carrier: Mapped[str] = mapped_column(String(40), primary_key=True)
    base_url: Mapped[str] = mapped_column(String(500), nullable=False)
    username_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    password_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime | None] = ts_column()
