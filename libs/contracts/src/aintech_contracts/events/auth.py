"""Events of the authenticator (accounts, sign-in security, sessions)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import EmailStr

from aintech_contracts.events.base import EventData, declare_topic

USER_TOPIC = declare_topic("auth.user", 6)
SECURITY_TOPIC = declare_topic("auth.security", 3)
SESSION_TOPIC = declare_topic("auth.session", 3)


class UserRegistered(EventData):
    """A person created an account (self-registration, OAuth first login or admin invite)."""

    event_type = "user.registered"
    topic = USER_TOPIC
    user_id: UUID
    email: EmailStr
    first_name: str
    last_name: str
    role: str
    registered_at: datetime


class UserEmailVerified(EventData):
    """The user proved they own their e-mail address."""

    event_type = "user.email_verified"
    topic = USER_TOPIC
    user_id: UUID
    email: EmailStr
    verified_at: datetime


class UserRoleChanged(EventData):
    """An administrator changed a user's role."""

    event_type = "user.role_changed"
    topic = USER_TOPIC
    user_id: UUID
    old_role: str
    new_role: str
    changed_by: UUID


class UserDisabled(EventData):
    """An administrator disabled an account; its sessions are revoked."""

    event_type = "user.disabled"
    topic = USER_TOPIC
    user_id: UUID
    disabled_by: UUID
    reason: str | None = None


class UserEnabled(EventData):
    """An administrator re-enabled a disabled account."""

    event_type = "user.enabled"
    topic = USER_TOPIC
    user_id: UUID
    enabled_by: UUID


class PasswordChanged(EventData):
    """The account's password was changed or reset; the user is told (delivered by omnichannel)."""

    event_type = "auth.password_changed"
    topic = SECURITY_TOPIC
    user_id: UUID
    email: EmailStr
    first_name: str
    method: str
    ip: str | None = None
    changed_at: datetime


class EmailVerificationRequested(EventData):
    """Send the user a link to verify their e-mail (delivered by omnichannel)."""

    event_type = "auth.email_verification_requested"
    topic = SECURITY_TOPIC
    user_id: UUID
    email: EmailStr
    first_name: str
    verification_url: str
    expires_at: datetime


class PasswordResetRequested(EventData):
    """Send the user a single-use password-reset link (delivered by omnichannel)."""

    event_type = "auth.password_reset_requested"
    topic = SECURITY_TOPIC
    user_id: UUID
    email: EmailStr
    first_name: str
    reset_url: str
    expires_at: datetime


class SuspiciousLogin(EventData):
    """A login from a new device or IP, a lockout, or refresh-token reuse; the user is alerted."""

    event_type = "auth.suspicious_login"
    topic = SECURITY_TOPIC
    user_id: UUID
    email: EmailStr
    reason: str
    ip: str | None = None
    user_agent: str | None = None
    occurred_at: datetime


class SessionRevoked(EventData):
    """Sessions ended before their time (logout, password reset, refresh-token reuse, account
    disabled, role changed). The gateway refuses their access tokens until ``deny_until``."""

    event_type = "session.revoked"
    topic = SESSION_TOPIC
    user_id: UUID
    session_ids: list[UUID]
    reason: str
    revoked_at: datetime
    deny_until: datetime
