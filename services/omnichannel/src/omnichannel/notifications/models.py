"""In-app notifications and each user's channel preferences per kind."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, Integer, PrimaryKeyConstraint, String, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from omnichannel.core.base import Base, created_column, ts_column, uuid_pk

KINDS = (
    "policy_expiring",
    "claim_status_changed",
    "task_assigned",
    "quote_accepted",
    "fraud_alert",
)
# A message sent by hand by a supervisor or an admin: always in the app (not one of the kinds a user
# chooses channels for in the preferences).
STAFF_MESSAGE = "staff_message"


class Notification(Base):
    """Something a user should know, shown in the notification centre until read."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_created", "user_id", "created_at"),
        Index("ix_notifications_unread", "user_id", postgresql_where=text("read_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    link: Mapped[str | None] = mapped_column(String(500))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    source_event_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = created_column()
    read_at: Mapped[datetime | None] = ts_column()


class NotificationPreference(Base):
    """Where a user wants one kind of notification: in the app, by e-mail, SMS or WhatsApp."""

    __tablename__ = "notification_preferences"
    __table_args__ = (PrimaryKeyConstraint("user_id", "kind"),)

    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    in_app: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    email: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    sms: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    whatsapp: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class SlackPost(Base):
    """A staff alert waiting to be (or already) posted to the Slack incoming webhook of its kind.

    Queued in the transaction of the notification and posted by the worker, so a slow or failing Slack
    never holds the notification up; one post per alert (``dedupe_key``) however many users it reached."""

    __tablename__ = "slack_posts"
    __table_args__ = (
        Index("ix_slack_posts_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    dedupe_key: Mapped[str] = mapped_column(String(150), nullable=False, unique=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    link: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = ts_column(nullable=False)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = created_column()
    sent_at: Mapped[datetime | None] = ts_column()
