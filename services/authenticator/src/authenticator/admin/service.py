"""Administration of accounts: search, role changes, disabling, forced logout, key rotation."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.auth import UserDisabled, UserEnabled, UserRoleChanged
from aintech_contracts.rbac import Permission, Role, permissions_for
from aintech_shared.errors import Conflict, Forbidden, NotFound
from authenticator.audit.service import AuditAction, record
from authenticator.core.base import utcnow
from authenticator.core.request import ClientInfo
from authenticator.core.runtime import Runtime
from authenticator.sessions.service import revoke_sessions
from authenticator.users import repository as users
from authenticator.users.models import User, UserStatus


async def search_users(
    session: AsyncSession,
    *,
    text: str | None,
    role: Role | None,
    status: UserStatus | None,
    after: list[Any] | None,
    limit: int,
) -> tuple[list[User], list[Any] | None]:
    """One page of accounts matching the filters, newest first."""
    return await users.search(
        session,
        text=text.strip() if text else None,
        role=role.value if role else None,
        status=status.value if status else None,
        after=after,
        limit=limit,
    )


async def get_user(session: AsyncSession, *, user_id: uuid.UUID, for_update: bool = False) -> User:
    user = await users.get(session, user_id, for_update=for_update)
    if user is None:
        raise NotFound("No such user.")
    return user


async def _lock_target(
    session: AsyncSession, *, actor_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[User, list[uuid.UUID]]:
    """Lock the active administrators, then the user to change.

    Every change that could remove an administrator takes the same locks in the same order, so
    two administrators demoting or disabling each other at once are served one after the other
    and the second sees the first's result, including losing its own rights meanwhile.
    """
    admins = await users.lock_active_admins(session)
    actor = await users.get(session, actor_id)
    if actor is None or not actor.is_active or Permission.users_manage not in permissions_for(actor.role):
        raise Forbidden("Your account no longer has the users:manage permission.")
    return await get_user(session, user_id=user_id, for_update=True), admins


def _guard_last_admin(user: User, admins: list[uuid.UUID]) -> None:
    if user.id in admins and len(admins) <= 1:
        raise Conflict("This is the last active administrator; promote another user first.")


async def change_role(
    session: AsyncSession,
    *,
    rt: Runtime,
    actor_id: uuid.UUID,
    user_id: uuid.UUID,
    role: Role,
    client: ClientInfo,
) -> User:
    """Give a user another role; their sessions end so new tokens carry the new permissions."""
    if user_id == actor_id:
        raise Conflict("You cannot change your own role.")
    user, admins = await _lock_target(session, actor_id=actor_id, user_id=user_id)
    if user.role == role:
        return user
    _guard_last_admin(user, admins)
    old = user.role
    user.role = role.value
    user.updated_at = utcnow()
    revoked = await revoke_sessions(session, rt=rt, user_id=user.id, reason="role_changed")
    await rt.outbox.publish(
        session,
        UserRoleChanged(user_id=user.id, old_role=old, new_role=role.value, changed_by=actor_id),
        key=str(user.id),
    )
    await record(
        session,
        action=AuditAction.role_changed,
        client=client,
        actor_id=actor_id,
        user_id=user.id,
        resource_type="user",
        resource_id=str(user.id),
        before={"role": old},
        after={"role": role.value},
        details={"sessions_revoked": len(revoked)},
    )
    return user


async def disable_user(
    session: AsyncSession,
    *,
    rt: Runtime,
    actor_id: uuid.UUID,
    user_id: uuid.UUID,
    reason: str | None,
    client: ClientInfo,
) -> User:
    """Disable an account and end all of its sessions."""
    if user_id == actor_id:
        raise Conflict("You cannot disable your own account.")
    user, admins = await _lock_target(session, actor_id=actor_id, user_id=user_id)
    if not user.is_active:
        return user
    _guard_last_admin(user, admins)
    now = utcnow()
    user.status = UserStatus.disabled.value
    user.disabled_at = now
    user.disabled_reason = reason
    user.updated_at = now
    revoked = await revoke_sessions(session, rt=rt, user_id=user.id, reason="account_disabled")
    await rt.outbox.publish(
        session, UserDisabled(user_id=user.id, disabled_by=actor_id, reason=reason), key=str(user.id)
    )
    await record(
        session,
        action=AuditAction.user_disabled,
        client=client,
        actor_id=actor_id,
        user_id=user.id,
        resource_type="user",
        resource_id=str(user.id),
        before={"status": "active"},
        after={"status": "disabled", "reason": reason},
        details={"sessions_revoked": len(revoked)},
    )
    return user


async def enable_user(
    session: AsyncSession, *, rt: Runtime, actor_id: uuid.UUID, user_id: uuid.UUID, client: ClientInfo
) -> User:
    """Re-enable a disabled account."""
    user = await get_user(session, user_id=user_id, for_update=True)
    if user.is_active:
        return user
    user.status = UserStatus.active.value
    user.disabled_at = None
    user.disabled_reason = None
    user.updated_at = utcnow()
    await rt.outbox.publish(session, UserEnabled(user_id=user.id, enabled_by=actor_id), key=str(user.id))
    await record(
        session,
        action=AuditAction.user_enabled,
        client=client,
        actor_id=actor_id,
        user_id=user.id,
        resource_type="user",
        resource_id=str(user.id),
        before={"status": "disabled"},
        after={"status": "active"},
    )
    return user


async def force_logout(
    session: AsyncSession, *, rt: Runtime, actor_id: uuid.UUID, user_id: uuid.UUID, client: ClientInfo
) -> int:
    """End every session of a user."""
    user = await get_user(session, user_id=user_id)
    revoked = await revoke_sessions(session, rt=rt, user_id=user.id, reason="revoked_by_admin")
    await record(
        session,
        action=AuditAction.sessions_revoked_all,
        client=client,
        actor_id=actor_id,
        user_id=user.id,
        resource_type="user",
        resource_id=str(user.id),
        details={"sessions_revoked": len(revoked)},
    )
    return len(revoked)


async def rotate_signing_key(
    session: AsyncSession, *, rt: Runtime, actor_id: uuid.UUID, client: ClientInfo
) -> tuple[str, str | None]:
    """Activate a new signing key; the previous one stays published until its tokens expire."""
    new_kid, old_kid = await rt.keys.rotate(session)
    await record(
        session,
        action=AuditAction.signing_key_rotated,
        client=client,
        actor_id=actor_id,
        resource_type="signing_key",
        resource_id=new_kid,
        before={"kid": old_kid},
        after={"kid": new_kid},
    )
    return new_kid, old_kid
