"""The event catalogue: one pydantic model per event type, its topic, and the topic list.

docs/events.md is generated from this module (``python -m aintech_shared.events.docs``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr

# Topic per producing context, partitions explicit. Keys are aggregate ids (order per entity).
TOPICS: dict[str, int] = {
    "auth.user": 6,
    "auth.security": 3,
    "crm.customer": 6,
    "crm.policy": 6,
    "crm.claim": 6,
    "telephony.call": 3,
    "omnichannel.message": 6,
    "quotes.quote": 3,
    "scraper.job": 3,
    "fraud.score": 3,
    "analytics.report": 3,
}
DEAD_LETTER_PARTITIONS = 1


def dead_letter_topic(topic: str) -> str:
    """Where messages that keep failing on ``topic`` are parked with their error."""
    return f"{topic}.dlq"


def all_topics() -> dict[str, int]:
    """Every topic the fleet uses, dead-letter topics included, with its partition count."""
    out = dict(TOPICS)
    out.update({dead_letter_topic(t): DEAD_LETTER_PARTITIONS for t in TOPICS})
    return out


class EventData(BaseModel):
    """Base of every event payload; subclasses declare ``event_type`` and ``topic``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]
    topic: ClassVar[str]

    def __init_subclass__(cls, catalogued: bool = True, **kwargs: Any) -> None:
        """Register the subclass; ``catalogued=False`` keeps a private (e.g. test) event out."""
        super().__init_subclass__(**kwargs)
        event_type = cls.__dict__.get("event_type")
        if event_type is None or not catalogued:
            return
        if cls.topic not in TOPICS:
            raise ValueError(f"{cls.__name__}: unknown topic {cls.topic!r}")
        if event_type in CATALOGUE:
            raise ValueError(f"event type {event_type!r} declared twice")
        CATALOGUE[event_type] = cls


CATALOGUE: dict[str, type[EventData]] = {}


# --- authenticator -------------------------------------------------------------------------


class UserRegistered(EventData):
    """A person created an account (self-registration, OAuth first login or admin invite)."""

    event_type = "user.registered"
    topic = "auth.user"
    user_id: UUID
    email: EmailStr
    first_name: str
    last_name: str
    role: str
    registered_at: datetime


class UserEmailVerified(EventData):
    """The user proved they own their e-mail address."""

    event_type = "user.email_verified"
    topic = "auth.user"
    user_id: UUID
    email: EmailStr
    verified_at: datetime


class UserRoleChanged(EventData):
    """An administrator changed a user's role."""

    event_type = "user.role_changed"
    topic = "auth.user"
    user_id: UUID
    old_role: str
    new_role: str
    changed_by: UUID


class UserDisabled(EventData):
    """An administrator disabled an account; its sessions are revoked."""

    event_type = "user.disabled"
    topic = "auth.user"
    user_id: UUID
    disabled_by: UUID
    reason: str | None = None


class UserEnabled(EventData):
    """An administrator re-enabled a disabled account."""

    event_type = "user.enabled"
    topic = "auth.user"
    user_id: UUID
    enabled_by: UUID


class PasswordChanged(EventData):
    """The account's password was changed or reset; the user is told (delivered by omnichannel)."""

    event_type = "auth.password_changed"
    topic = "auth.security"
    user_id: UUID
    email: EmailStr
    first_name: str
    method: str
    ip: str | None = None
    changed_at: datetime


class EmailVerificationRequested(EventData):
    """Send the user a link to verify their e-mail (delivered by omnichannel)."""

    event_type = "auth.email_verification_requested"
    topic = "auth.security"
    user_id: UUID
    email: EmailStr
    first_name: str
    verification_url: str
    expires_at: datetime


class PasswordResetRequested(EventData):
    """Send the user a single-use password-reset link (delivered by omnichannel)."""

    event_type = "auth.password_reset_requested"
    topic = "auth.security"
    user_id: UUID
    email: EmailStr
    first_name: str
    reset_url: str
    expires_at: datetime


class SuspiciousLogin(EventData):
    """A login from a new device or IP, a lockout, or refresh-token reuse; the user is alerted."""

    event_type = "auth.suspicious_login"
    topic = "auth.security"
    user_id: UUID
    email: EmailStr
    reason: str
    ip: str | None = None
    user_agent: str | None = None
    occurred_at: datetime
