"""Ending sessions (logout, revocation by the user or an administrator) and listing them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.errors import NotFound
from authenticator.audit.service import AuditAction, record
from authenticator.core.base import utcnow
from authenticator.core.request import ClientInfo
from authenticator.sessions import repository
from authenticator.sessions.models import Session
from authenticator.tokens import service as tokens


async def revoke_sessions(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    reason: str,
    session_ids: Sequence[uuid.UUID] | None = None,
    keep: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """End sessions (all of the user's, or the given ones) and every refresh token in them."""
    now = utcnow()
    revoked = await repository.revoke(
        session, user_id=user_id, reason=reason, now=now, session_ids=session_ids, keep=keep
    )
    await tokens.revoke_families(session, session_ids=revoked, now=now)
    return revoked


async def logout(
    session: AsyncSession, *, user_id: uuid.UUID, session_id: uuid.UUID, everywhere: bool, client: ClientInfo
) -> int:
    """End the caller's session, or all of their sessions."""
    ids = None if everywhere else [session_id]
    revoked = await revoke_sessions(session, user_id=user_id, reason="logout", session_ids=ids)
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
        await revoke_sessions(session, user_id=row.user_id, reason=reason, session_ids=[row.id])
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
