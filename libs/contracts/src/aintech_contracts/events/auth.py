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


class UserEmailChanged(EventData):
    """The user proved a new e-mail address and it replaced the old one (omnichannel tells the old
    address, so a takeover does not go unnoticed)."""

    event_type = "user.email_changed"
    topic = USER_TOPIC
    user_id: UUID
    old_email: EmailStr
    new_email: EmailStr
    first_name: str
    changed_at: datetime


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


class EmailChangeRequested(EventData):
    """Send a link to the new address to prove it before it replaces ``email`` (delivered by
    omnichannel to ``new_email``)."""

    event_type = "auth.email_change_requested"
    topic = SECURITY_TOPIC
    user_id: UUID
    email: EmailStr
    new_email: EmailStr
    first_name: str
    verification_url: str
    expires_at: datetime


class AccountExistsNotice(EventData):
    """Someone tried to register (or to move another account) with an address that already has an
    account. The sign-up answer does not tell them; the owner is told by e-mail instead (delivered
    by omnichannel), with links to sign in or reset the password."""

    event_type = "auth.account_exists_notice"
    topic = SECURITY_TOPIC
    user_id: UUID
    email: EmailStr
    first_name: str
    sign_in_url: str
    reset_password_url: str
    requested_at: datetime


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
    """A login from a new device or IP, repeated failed sign-ins, a lockout, refresh-token reuse,
    or a password reset on an account whose second factor was enrolled within the hour; the user is
    alerted. ``reason``: ``new_device``, ``failed_sign_ins``, ``account_locked``,
    ``refresh_token_reuse``, ``two_factor_enrolled_recently``."""

    event_type = "auth.suspicious_login"
    topic = SECURITY_TOPIC
    user_id: UUID
    email: EmailStr
    reason: str
    ip: str | None = None
    user_agent: str | None = None
    occurred_at: datetime


class SessionRevoked(EventData):
    """Sessions ended before their time. The gateway refuses their access tokens until
    ``deny_until``, the latest expiry of an access token issued in them. ``reason``: ``logout``,
    ``password_changed``, ``password_reset``, ``email_changed``, ``refresh_token_reuse``,
    ``account_disabled``, ``role_changed``, ``revoked_by_user``, ``revoked_by_admin``."""

    event_type = "session.revoked"
    topic = SESSION_TOPIC
    user_id: UUID
    session_ids: list[UUID]
    reason: str
    revoked_at: datetime
    deny_until: datetime
