"""Registration, e-mail verification, profile, password change and password reset."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.auth import (
    EmailVerificationRequested,
    PasswordChanged,
    PasswordResetRequested,
    UserEmailVerified,
)
from aintech_contracts.rbac import Role
from aintech_shared.errors import BadRequest, Conflict, UnprocessableEntity
from authenticator.accounts import repository
from authenticator.accounts.models import OneTimeToken, TokenPurpose
from authenticator.audit.service import AuditAction, record
from authenticator.core.base import utcnow
from authenticator.core.crypto import digests_match, hash_token, new_token
from authenticator.core.request import ClientInfo
from authenticator.core.runtime import Runtime
from authenticator.sessions.service import revoke_sessions
from authenticator.throttle import service as throttle
from authenticator.users import repository as users
from authenticator.users.models import User
from authenticator.users.service import create_user, email_taken

PROFILE_FIELDS = ("first_name", "last_name", "phone")


def _link(rt: Runtime, path: str, token: str) -> str:
    return f"{rt.settings.app_base_url.rstrip('/')}/{path}?{urlencode({'token': token})}"


async def _issue_token(
    session: AsyncSession, *, user: User, purpose: TokenPurpose, ttl_seconds: int
) -> tuple[str, OneTimeToken]:
    now = utcnow()
    await repository.invalidate_tokens(session, user_id=user.id, purpose=purpose.value, now=now)
    raw = new_token(32)
    row = OneTimeToken(
        user_id=user.id,
        purpose=purpose.value,
        token_hash=hash_token(raw),
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
    )
    await repository.add_token(session, row)
    return raw, row


async def _consume_token(session: AsyncSession, *, raw: str, purpose: TokenPurpose) -> OneTimeToken:
    digest = hash_token(raw)
    row = await repository.token_by_hash(session, token_hash=digest, purpose=purpose.value)
    if row is None or not digests_match(row.token_hash, digest) or row.used_at is not None:
        raise BadRequest("This link is invalid or has already been used.")
    if row.expires_at <= utcnow():
        raise BadRequest("This link has expired; request a new one.")
    row.used_at = utcnow()
    return row


async def register(
    session: AsyncSession,
    *,
    rt: Runtime,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    phone: str | None,
    client: ClientInfo,
) -> User:
    """Self-registration: a customer account, plus a request to verify the e-mail address."""
    if await users.by_email(session, email) is not None:
        raise email_taken()
    user = await create_user(
        session,
        rt=rt,
        email=email,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        password_hash=await rt.hasher.hash(password),
        role=Role.customer,
        verified=False,
        client=client,
    )
    await request_email_verification(session, rt=rt, user=user)
    return user


async def request_email_verification(session: AsyncSession, *, rt: Runtime, user: User) -> None:
    """Issue a verification token and ask omnichannel to e-mail the link."""
    if user.email_verified:
        raise Conflict("This e-mail address is already verified.")
    raw, row = await _issue_token(
        session,
        user=user,
        purpose=TokenPurpose.email_verification,
        ttl_seconds=rt.settings.email_verification_ttl_seconds,
    )
    await rt.outbox.publish(
        session,
        EmailVerificationRequested(
            user_id=user.id,
            email=user.email,
            first_name=user.first_name,
            verification_url=_link(rt, "verify-email", raw),
            expires_at=row.expires_at,
        ),
        key=str(user.id),
    )


async def verify_email(session: AsyncSession, *, rt: Runtime, token: str, client: ClientInfo) -> User:
    """Consume a verification token and mark the address verified."""
    row = await _consume_token(session, raw=token, purpose=TokenPurpose.email_verification)
    user = await users.get(session, row.user_id, for_update=True)
    if user is None:
        raise BadRequest("This link is invalid or has already been used.")
    if not user.email_verified:
        now = utcnow()
        user.email_verified_at = now
        user.updated_at = now
        await rt.outbox.publish(
            session, UserEmailVerified(user_id=user.id, email=user.email, verified_at=now), key=str(user.id)
        )
        await record(
            session,
            action=AuditAction.email_verified,
            client=client,
            actor_id=user.id,
            user_id=user.id,
            before={"email_verified": False},
            after={"email_verified": True},
        )
    return user


async def update_profile(
    session: AsyncSession, *, user: User, changes: dict[str, Any], client: ClientInfo
) -> User:
    """Change names and phone; records what changed."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for field in PROFILE_FIELDS:
        if field in changes:
            value = changes[field]
            if field != "phone" and value is None:
                raise UnprocessableEntity(
                    errors=[
                        {"location": "body", "field": field, "message": "cannot be empty", "type": "missing"}
                    ]
                )
            if getattr(user, field) != value:
                before[field], after[field] = getattr(user, field), value
                setattr(user, field, value)
    if after:
        user.updated_at = utcnow()
        await record(
            session,
            action=AuditAction.profile_updated,
            client=client,
            actor_id=user.id,
            user_id=user.id,
            before=before,
            after=after,
        )
    return user


async def _notify_password_changed(
    session: AsyncSession, *, rt: Runtime, user: User, how: str, client: ClientInfo
) -> None:
    await rt.outbox.publish(
        session,
        PasswordChanged(
            user_id=user.id,
            email=user.email,
            first_name=user.first_name,
            method=how,
            ip=client.ip,
            changed_at=utcnow(),
        ),
        key=str(user.id),
    )


async def change_password(
    session: AsyncSession,
    *,
    rt: Runtime,
    user: User,
    current_session_id: uuid.UUID,
    current_password: str,
    new_password: str,
    client: ClientInfo,
) -> int:
    """Replace the password after checking the current one; other sessions are signed out."""
    valid, _ = await rt.hasher.verify(current_password, user.password_hash)
    if not valid:
        raise UnprocessableEntity(
            "The current password is not correct.",
            errors=[
                {
                    "location": "body",
                    "field": "current_password",
                    "message": "incorrect password",
                    "type": "invalid",
                }
            ],
        )
    problems_with_email = _email_problems(new_password, user.email)
    if problems_with_email:
        raise UnprocessableEntity(
            errors=[
                {
                    "location": "body",
                    "field": "new_password",
                    "message": problems_with_email[0],
                    "type": "value_error",
                }
            ]
        )
    if (await rt.hasher.verify(new_password, user.password_hash))[0]:
        raise UnprocessableEntity(
            errors=[
                {
                    "location": "body",
                    "field": "new_password",
                    "message": "must differ from the current password",
                    "type": "value_error",
                }
            ]
        )
    now = utcnow()
    user.password_hash = await rt.hasher.hash(new_password)
    user.password_changed_at = now
    user.updated_at = now
    revoked = await revoke_sessions(
        session, user_id=user.id, reason="password_changed", keep=current_session_id
    )
    await record(
        session,
        action=AuditAction.password_changed,
        client=client,
        actor_id=user.id,
        user_id=user.id,
        details={"other_sessions_revoked": len(revoked)},
    )
    await _notify_password_changed(session, rt=rt, user=user, how="changed", client=client)
    return len(revoked)


def _email_problems(password: str, email: str) -> list[str]:
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and local in password.lower():
        return ["must not contain your e-mail address"]
    return []


async def forgot_password(session: AsyncSession, *, rt: Runtime, email: str, client: ClientInfo) -> None:
    """E-mail a reset link when the account exists; the answer is the same either way."""
    user = await users.by_email(session, email.lower())
    if user is None or not user.is_active:
        return
    since = utcnow() - timedelta(hours=1)
    recent = await repository.count_tokens_since(
        session, user_id=user.id, purpose=TokenPurpose.password_reset.value, since=since
    )
    if recent >= rt.settings.password_reset_max_per_hour:
        return
    raw, row = await _issue_token(
        session,
        user=user,
        purpose=TokenPurpose.password_reset,
        ttl_seconds=rt.settings.password_reset_ttl_seconds,
    )
    await rt.outbox.publish(
        session,
        PasswordResetRequested(
            user_id=user.id,
            email=user.email,
            first_name=user.first_name,
            reset_url=_link(rt, "reset-password", raw),
            expires_at=row.expires_at,
        ),
        key=str(user.id),
    )
    await record(session, action=AuditAction.password_reset_requested, client=client, user_id=user.id)


async def reset_password(
    session: AsyncSession, *, rt: Runtime, token: str, new_password: str, client: ClientInfo
) -> None:
    """Set a new password from a reset link; every session of the account is revoked."""
    row = await _consume_token(session, raw=token, purpose=TokenPurpose.password_reset)
    user = await users.get(session, row.user_id, for_update=True)
    if user is None or not user.is_active:
        raise BadRequest("This link is invalid or has already been used.")
    problems = _email_problems(new_password, user.email)
    if problems:
        raise UnprocessableEntity(
            errors=[
                {"location": "body", "field": "new_password", "message": problems[0], "type": "value_error"}
            ]
        )
    now = utcnow()
    user.password_hash = await rt.hasher.hash(new_password)
    user.password_changed_at = now
    user.updated_at = now
    if user.email_verified_at is None:
        user.email_verified_at = now
        await rt.outbox.publish(
            session, UserEmailVerified(user_id=user.id, email=user.email, verified_at=now), key=str(user.id)
        )
    revoked = await revoke_sessions(session, user_id=user.id, reason="password_reset")
    await throttle.record_success(session, email=user.email)
    await record(
        session,
        action=AuditAction.password_reset,
        client=client,
        actor_id=user.id,
        user_id=user.id,
        details={"sessions_revoked": len(revoked)},
    )
    await _notify_password_changed(session, rt=rt, user=user, how="reset", client=client)
