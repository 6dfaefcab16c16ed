"""Creating accounts (self-registration, first sign-in with a provider, demo seed)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.auth import UserEmailVerified, UserRegistered
from aintech_contracts.rbac import Role
from aintech_shared.errors import Conflict
from authenticator.audit.service import AuditAction, record
from authenticator.core.base import utcnow
from authenticator.core.request import ClientInfo
from authenticator.core.runtime import Runtime
from authenticator.users import repository
from authenticator.users.models import User


def email_taken() -> Conflict:
    return Conflict(
        "An account with this e-mail address already exists.",
        errors=[{"location": "body", "field": "email", "message": "already registered", "type": "conflict"}],
    )


async def create_user(
    session: AsyncSession,
    *,
    rt: Runtime,
    email: str,
    first_name: str,
    last_name: str,
    phone: str | None,
    password_hash: str | None,
    role: Role,
    verified: bool,
    client: ClientInfo | None,
    actor_id: uuid.UUID | None = None,
) -> User:
    """Insert an account and publish ``user.registered`` (409 when the e-mail is taken)."""
    email = email.lower()
    if await repository.by_email(session, email) is not None:
        raise email_taken()
    now = utcnow()
    user = User(
        id=uuid.uuid4(),
        email=email,
        password_hash=password_hash,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        role=role.value,
        status="active",
        email_verified_at=now if verified else None,
        created_at=now,
        updated_at=now,
        password_changed_at=now if password_hash else None,
        attributes={},
    )
    await repository.add(session, user)
    await rt.outbox.publish(
        session,
        UserRegistered(
            user_id=user.id,
            email=user.email,
            first_name=user.first_name,
            last_name=user.last_name,
            role=user.role,
            registered_at=now,
        ),
        key=str(user.id),
    )
    if verified:
        await rt.outbox.publish(
            session, UserEmailVerified(user_id=user.id, email=user.email, verified_at=now), key=str(user.id)
        )
    await record(
        session,
        action=AuditAction.user_registered,
        client=client,
        actor_id=actor_id or user.id,
        user_id=user.id,
        after={"email": user.email, "role": user.role, "email_verified": verified},
    )
    return user
