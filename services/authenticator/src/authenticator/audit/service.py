"""Writing and reading the security audit log (never with secrets in it)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.context import request_id_var
from authenticator.audit import repository
from authenticator.audit.models import AuditLog
from authenticator.core.base import utcnow
from authenticator.core.request import ClientInfo


class AuditAction(StrEnum):
    user_registered = "user.registered"
    registration_repeated = "user.registration_repeated"
    email_verified = "user.email_verified"
    email_change_requested = "user.email_change_requested"
    email_changed = "user.email_changed"
    profile_updated = "user.profile_updated"
    role_changed = "user.role_changed"
    user_disabled = "user.disabled"
    user_enabled = "user.enabled"
    login_succeeded = "login.succeeded"
    login_failed = "login.failed"
    login_locked = "login.locked"
    login_challenge_issued = "login.2fa_required"
    two_factor_failed = "login.2fa_failed"
    logout = "session.logout"
    session_revoked = "session.revoked"
    sessions_revoked_all = "session.revoked_all"
    token_reuse_detected = "token.reuse_detected"  # noqa: S105
    password_changed = "password.changed"  # noqa: S105
    password_check_failed = "password.check_failed"  # noqa: S105
    password_reset_requested = "password.reset_requested"  # noqa: S105
    password_reset = "password.reset"  # noqa: S105
    two_factor_enrollment_started = "2fa.enrollment_started"
    two_factor_enabled = "2fa.enabled"
    two_factor_disabled = "2fa.disabled"
    two_factor_code_failed = "2fa.code_failed"
    recovery_codes_regenerated = "2fa.recovery_codes_regenerated"
    recovery_code_used = "2fa.recovery_code_used"
    oauth_linked = "oauth.linked"
    oauth_unlinked = "oauth.unlinked"
    oauth_login = "oauth.login"
    signing_key_rotated = "keys.rotated"


async def record(
    session: AsyncSession,
    *,
    action: AuditAction,
    client: ClientInfo | None,
    actor_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit row in the caller's transaction."""
    changes = None
    if before is not None or after is not None:
        changes = {"before": before, "after": after}
    await repository.add(
        session,
        AuditLog(
            occurred_at=utcnow(),
            action=action.value,
            actor_id=actor_id,
            user_id=user_id,
            resource_type=resource_type,
            resource_id=resource_id,
            ip=client.ip if client else None,
            user_agent=client.user_agent if client else None,
            changes=changes,
            details=details,
            request_id=request_id_var.get(),
        ),
    )


async def search(
    session: AsyncSession,
    *,
    user_id: uuid.UUID | None,
    actor_id: uuid.UUID | None,
    actions: Sequence[str],
    since: datetime | None,
    until: datetime | None,
    after: list[Any] | None,
    limit: int,
) -> tuple[list[AuditLog], list[Any] | None]:
    """One page of audit rows matching the filters, newest first, and the keyset of the next."""
    return await repository.search(
        session,
        user_id=user_id,
        actor_id=actor_id,
        actions=actions,
        since=since,
        until=until,
        after=after,
        limit=limit,
    )
