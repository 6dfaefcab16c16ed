"""Ending sessions (and telling the gateway), listing them, and step-up for security changes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.auth import SessionRevoked
from aintech_shared.errors import AppError, NotFound, UnprocessableEntity
from authenticator.audit.service import AuditAction, record
from authenticator.core.base import utcnow
from authenticator.core.request import ClientInfo
from authenticator.core.runtime import Runtime
from authenticator.sessions import repository
from authenticator.sessions.models import Session
from authenticator.throttle import service as throttle
from authenticator.tokens import service as tokens
from authenticator.users.models import User


class StepUpRequired(AppError):
    status, slug, title = 403, "step-up-required", "Confirm it is you"


async def publish_revoked(
    session: AsyncSession,
    *,
    rt: Runtime,
    user_id: uuid.UUID,
    ended: Sequence[tuple[uuid.UUID, datetime]],
    reason: str,
    now: datetime,
) -> None:
    """Publish ``session.revoked`` for sessions just ended (id, last token issued at), so the gateway
    refuses their access tokens until the last of them would have expired."""
    if not ended:
        return
    ttl = timedelta(seconds=rt.settings.access_token_ttl_seconds)
    await rt.outbox.publish(
        session,
        SessionRevoked(
            user_id=user_id,
            session_ids=[sid for sid, _ in ended],
            reason=reason,
            revoked_at=now,
            deny_until=max(issued for _, issued in ended) + ttl,
        ),
        key=str(user_id),
    )


async def revoke_sessions(
    session: AsyncSession,
    *,
    rt: Runtime,
    user_id: uuid.UUID,
    reason: str,
    session_ids: Sequence[uuid.UUID] | None = None,
    keep: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """End sessions (all of the user's, or the given ones) and every refresh token in them."""
    now = utcnow()
    ended = await repository.revoke(
        session, user_id=user_id, reason=reason, now=now, session_ids=session_ids, keep=keep
    )
    revoked = [sid for sid, _ in ended]
    await tokens.revoke_families(session, session_ids=revoked, now=now)
    await publish_revoked(session, rt=rt, user_id=user_id, ended=ended, reason=reason, now=now)
    return revoked


async def logout(
    session: AsyncSession,
    *,
    rt: Runtime,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    everywhere: bool,
    client: ClientInfo,
) -> int:
    """End the caller's session, or all of their sessions."""
    ids = None if everywhere else [session_id]
    revoked = await revoke_sessions(session, rt=rt, user_id=user_id, reason="logout", session_ids=ids)
    await record(
        session,
        action=AuditAction.sessions_revoked_all if everywhere else AuditAction.logout,
        client=client,
        actor_id=user_id,
        user_id=user_id,
        resource_type="session",
        resource_id=str(session_id),
        details={"sessions_revoked": len(revoked)},
    )
    return len(revoked)


async def list_sessions(session: AsyncSession, *, user_id: uuid.UUID) -> Sequence[Session]:
    """The user's active sessions, most recently used first."""
    return await repository.active_for_user(session, user_id=user_id, now=utcnow())


async def revoke_one(
    session: AsyncSession,
    *,
    rt: Runtime,
    session_id: uuid.UUID,
    owner_id: uuid.UUID | None,
    actor_id: uuid.UUID,
    client: ClientInfo,
) -> Session:
    """Revoke one session; ``owner_id`` restricts it to that user's sessions (404 otherwise)."""
    row = await repository.get(session, session_id)
    if row is None or (owner_id is not None and row.user_id != owner_id):
        raise NotFound("No such session.")
    if row.revoked_at is None:
        reason = "revoked_by_user" if actor_id == row.user_id else "revoked_by_admin"
        await revoke_sessions(session, rt=rt, user_id=row.user_id, reason=reason, session_ids=[row.id])
        await record(
            session,
            action=AuditAction.session_revoked,
            client=client,
            actor_id=actor_id,
            user_id=row.user_id,
            resource_type="session",
            resource_id=str(row.id),
        )
    return row


def wrong_password() -> UnprocessableEntity:
    return UnprocessableEntity(
        "The current password is not correct.",
        errors=[
            {
                "location": "body",
                "field": "current_password",
                "message": "incorrect password",
                "type": "invalid",
            }
        ],
        keep_changes=True,
    )


async def check_password(
    session: AsyncSession, *, rt: Runtime, user: User, password: str, client: ClientInfo
) -> None:
    """Check the current password inside a session, throttled like sign-in (429 while locked);
    a wrong one is counted and refused with 422."""
    now = utcnow()
    checked, counted = throttle.in_session_keys(user.email, client)
    await throttle.ensure_allowed(session, keys=checked, now=now)
    valid, _ = await rt.hasher.verify(password, user.password_hash)
    if valid:
        return
    await throttle.record_failures(session, keys=counted, settings=rt.settings, now=now)
    await record(
        session,
        action=AuditAction.password_check_failed,
        client=client,
        actor_id=user.id,
        user_id=user.id,
    )
    raise wrong_password()


async def step_up(
    session: AsyncSession,
    *,
    rt: Runtime,
    user: User,
    current: Session,
    current_password: str | None,
    client: ClientInfo,
) -> None:
    """Allow a security change: the session proved a factor recently, or the current password is
    given now (which then counts as a fresh proof for the next few minutes)."""
    now = utcnow()
    fresh = now - current.authenticated_at <= timedelta(seconds=rt.settings.step_up_max_age_seconds)
    if current_password is None:
        if fresh:
            return
        raise StepUpRequired(
            "Confirm your current password to make this change."
            if user.password_hash
            else "Sign in again to make this change.",
            errors=[
                {"location": "body", "field": "current_password", "message": "required", "type": "missing"}
            ],
        )
    await check_password(session, rt=rt, user=user, password=current_password, client=client)
    current.authenticated_at = now
