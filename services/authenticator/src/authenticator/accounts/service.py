"""Registration, e-mail verification and change, profile, password change and password reset.

The flows that send e-mail to an address somebody typed (sign-up, password reset) answer the same
whether or not the address has an account, do the same work on both paths (the password is hashed,
counters are written) and are limited per client address and per address.
"""

from __future__ import annotations

import math
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.auth import (
    AccountExistsNotice,
    EmailChangeRequested,
    EmailVerificationRequested,
    PasswordChanged,
    PasswordResetRequested,
    SuspiciousLogin,
    UserEmailChanged,
    UserEmailVerified,
)
from aintech_contracts.rbac import Role
from aintech_shared.errors import BadRequest, Conflict, TooManyRequests, UnprocessableEntity
from authenticator.accounts import repository
from authenticator.accounts.models import OneTimeToken, TokenPurpose
from authenticator.audit.service import AuditAction, record
from authenticator.core.base import utcnow
from authenticator.core.crypto import digests_match, hash_token, new_token
from authenticator.core.request import ClientInfo
from authenticator.core.runtime import Runtime
from authenticator.sessions.models import Session
from authenticator.sessions.service import check_password, revoke_sessions, step_up
from authenticator.throttle import service as throttle
from authenticator.users import repository as users
from authenticator.users.models import User
from authenticator.users.service import create_user, email_taken

PROFILE_FIELDS = ("first_name", "last_name", "phone")
RECENT_TWO_FACTOR = timedelta(hours=1)


def _link(rt: Runtime, path: str, token: str | None = None) -> str:
    base = f"{rt.settings.app_base_url.rstrip('/')}/{path}"
    return f"{base}?{urlencode({'token': token})}" if token else base


async def _issue_token(
    session: AsyncSession,
    *,
    user: User,
    purpose: TokenPurpose,
    ttl_seconds: int,
    email: str | None = None,
    session_id: uuid.UUID | None = None,
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
        email=email,
        session_id=session_id,
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


async def _tell_owner(session: AsyncSession, *, rt: Runtime, owner: User, client: ClientInfo) -> None:
    """Someone tried to take ``owner``'s address: tell the owner, not the one who asked."""
    await rt.outbox.publish(
        session,
        AccountExistsNotice(
            user_id=owner.id,
            email=owner.email,
            first_name=owner.first_name,
            sign_in_url=_link(rt, "sign-in"),
            reset_password_url=_link(rt, "forgot-password"),
            requested_at=utcnow(),
        ),
        key=str(owner.id),
    )
    await record(session, action=AuditAction.registration_repeated, client=client, user_id=owner.id)


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
) -> None:
    """Self-registration of a customer. For a taken address nothing is created and its owner is
    told by e-mail instead; the caller gets the same answer either way."""
    now, email, settings = utcnow(), email.lower(), rt.settings
    await throttle.limit_client(
        session, flow="signup", client=client, limit=settings.signup_max_per_ip_per_hour, now=now
    )
    # The address counter's row lock also serialises sign-ups for one address: a second one waits
    # for the first to commit, then finds the account.
    within_limit = await throttle.within_address_limit(
        session, flow="signup", email=email, limit=settings.signup_max_per_address_per_hour, now=now
    )
    password_hash = await rt.hasher.hash(password)
    existing = await users.by_email(session, email)
    if existing is not None:
        if within_limit:
            await _tell_owner(session, rt=rt, owner=existing, client=client)
        return
    user = await create_user(
        session,
        rt=rt,
        email=email,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        password_hash=password_hash,
        role=Role.customer,
        verified=False,
        client=client,
    )
    await request_email_verification(session, rt=rt, user=user)


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


async def resend_verification(session: AsyncSession, *, rt: Runtime, user: User) -> None:
    """Send the verification e-mail again, after a cool-down and a few times an hour at most."""
    if user.email_verified:
        raise Conflict("This e-mail address is already verified.")
    now, settings = utcnow(), rt.settings
    purpose = TokenPurpose.email_verification.value
    last = await repository.last_token_at(session, user_id=user.id, purpose=purpose)
    wait = 0.0
    if last is not None:
        wait = (last + timedelta(seconds=settings.verification_resend_cooldown_seconds) - now).total_seconds()
    sent = await repository.count_tokens_since(
        session, user_id=user.id, purpose=purpose, since=now - throttle.HOUR
    )
    if sent >= settings.verification_resend_max_per_hour:
        wait = max(wait, float(settings.verification_resend_cooldown_seconds), 60.0)
    if wait > 0:
        seconds = math.ceil(wait)
        raise TooManyRequests(
            f"A verification e-mail was sent moments ago; try again in {seconds} seconds.",
            headers={"Retry-After": str(seconds)},
            retry_after=seconds,
        )
    await request_email_verification(session, rt=rt, user=user)


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


def _new_password_problem(message: str) -> UnprocessableEntity:
    return UnprocessableEntity(
        errors=[{"location": "body", "field": "new_password", "message": message, "type": "value_error"}]
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
    """Replace the password after checking the current one (throttled like sign-in); other
    sessions are signed out."""
    await check_password(session, rt=rt, user=user, password=current_password, client=client)
    problems_with_email = _email_problems(new_password, user.email)
    if problems_with_email:
        raise _new_password_problem(problems_with_email[0])
    if (await rt.hasher.verify(new_password, user.password_hash))[0]:
        raise _new_password_problem("must differ from the current password")
    now = utcnow()
    user.password_hash = await rt.hasher.hash(new_password)
    user.password_changed_at = now
    user.updated_at = now
    revoked = await revoke_sessions(
        session, rt=rt, user_id=user.id, reason="password_changed", keep=current_session_id
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
    """E-mail a reset link when the account exists; the answer and the work are the same either way."""
    now, email, settings = utcnow(), email.lower(), rt.settings
    await throttle.limit_client(
        session, flow="reset", client=client, limit=settings.password_reset_max_per_ip_per_hour, now=now
    )
    within_limit = await throttle.within_address_limit(
        session, flow="reset", email=email, limit=settings.password_reset_max_per_hour, now=now
    )
    user = await users.by_email(session, email)
    sending = user is not None and user.is_active and within_limit
    await record(
        session,
        action=AuditAction.password_reset_requested,
        client=client,
        user_id=user.id if user else None,
        details={"email": email, "sent": sending},
    )
    if user is None or not sending:
        return
    raw, row = await _issue_token(
        session,
        user=user,
        purpose=TokenPurpose.password_reset,
        ttl_seconds=settings.password_reset_ttl_seconds,
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


async def reset_password(
    session: AsyncSession, *, rt: Runtime, token: str, new_password: str, client: ClientInfo
) -> None:
    """Set a new password from a reset link; every session of the account is revoked.

    A second factor is never removed by a reset: the link proves only the mailbox. When the second
    factor was enrolled within the hour, the owner is warned (``auth.suspicious_login``).
    """
    row = await _consume_token(session, raw=token, purpose=TokenPurpose.password_reset)
    user = await users.get(session, row.user_id, for_update=True)
    if user is None or not user.is_active:
        raise BadRequest("This link is invalid or has already been used.")
    problems = _email_problems(new_password, user.email)
    if problems:
        raise _new_password_problem(problems[0])
    now = utcnow()
    user.password_hash = await rt.hasher.hash(new_password)
    user.password_changed_at = now
    user.updated_at = now
    if user.email_verified_at is None:
        user.email_verified_at = now
        await rt.outbox.publish(
            session, UserEmailVerified(user_id=user.id, email=user.email, verified_at=now), key=str(user.id)
        )
    revoked = await revoke_sessions(session, rt=rt, user_id=user.id, reason="password_reset")
    await throttle.forgive_account(session, email=user.email)
    await record(
        session,
        action=AuditAction.password_reset,
        client=client,
        actor_id=user.id,
        user_id=user.id,
        details={"sessions_revoked": len(revoked)},
    )
    await _notify_password_changed(session, rt=rt, user=user, how="reset", client=client)
    if user.totp_enabled_at is not None and now - user.totp_enabled_at <= RECENT_TWO_FACTOR:
        await rt.outbox.publish(
            session,
            SuspiciousLogin(
                user_id=user.id,
                email=user.email,
                reason="two_factor_enrolled_recently",
                ip=client.ip,
                user_agent=client.user_agent,
                occurred_at=now,
            ),
            key=str(user.id),
        )


async def request_email_change(
    session: AsyncSession,
    *,
    rt: Runtime,
    user: User,
    current: Session,
    new_email: str,
    current_password: str | None,
    client: ClientInfo,
) -> None:
    """Send a link to the new address; nothing changes until it is used. The answer is the same
    when the new address belongs to another account (whose owner is told instead)."""
    await step_up(
        session, rt=rt, user=user, current=current, current_password=current_password, client=client
    )
    now, new_email = utcnow(), new_email.lower()
    if new_email == user.email:
        raise UnprocessableEntity(
            errors=[
                {
                    "location": "body",
                    "field": "new_email",
                    "message": "is already your address",
                    "type": "same",
                }
            ]
        )
    purpose = TokenPurpose.email_change.value
    asked = await repository.count_tokens_since(
        session, user_id=user.id, purpose=purpose, since=now - throttle.HOUR
    )
    if asked >= rt.settings.email_change_max_per_hour:
        raise throttle.too_many(int(throttle.HOUR.total_seconds()))
    owner = await users.by_email(session, new_email)
    if owner is not None:
        if await throttle.within_address_limit(
            session,
            flow="signup",
            email=new_email,
            limit=rt.settings.signup_max_per_address_per_hour,
            now=now,
        ):
            await _tell_owner(session, rt=rt, owner=owner, client=client)
        return
    raw, row = await _issue_token(
        session,
        user=user,
        purpose=TokenPurpose.email_change,
        ttl_seconds=rt.settings.email_change_ttl_seconds,
        email=new_email,
        session_id=current.id,
    )
    await rt.outbox.publish(
        session,
        EmailChangeRequested(
            user_id=user.id,
            email=user.email,
            new_email=new_email,
            first_name=user.first_name,
            verification_url=_link(rt, "verify-email-change", raw),
            expires_at=row.expires_at,
        ),
        key=str(user.id),
    )
    await record(
        session,
        action=AuditAction.email_change_requested,
        client=client,
        actor_id=user.id,
        user_id=user.id,
        details={"new_email": new_email},
    )


async def confirm_email_change(session: AsyncSession, *, rt: Runtime, token: str, client: ClientInfo) -> User:
    """Use the link sent to the new address: it becomes the account's (verified) address, links
    sent to the old one stop working and every other session ends."""
    row = await _consume_token(session, raw=token, purpose=TokenPurpose.email_change)
    user = await users.get(session, row.user_id, for_update=True)
    if user is None or not user.is_active or row.email is None:
        raise BadRequest("This link is invalid or has already been used.")
    taken = await users.by_email(session, row.email)
    if taken is not None and taken.id != user.id:
        raise email_taken()
    now, old_email, new_email = utcnow(), user.email, row.email
    for purpose in (TokenPurpose.password_reset, TokenPurpose.email_verification, TokenPurpose.email_change):
        await repository.invalidate_tokens(session, user_id=user.id, purpose=purpose.value, now=now)
    await revoke_sessions(session, rt=rt, user_id=user.id, reason="email_changed", keep=row.session_id)
    await rt.outbox.publish(
        session,
        UserEmailChanged(
            user_id=user.id,
            old_email=old_email,
            new_email=new_email,
            first_name=user.first_name,
            changed_at=now,
        ),
        key=str(user.id),
    )
    await record(
        session,
        action=AuditAction.email_changed,
        client=client,
        actor_id=user.id,
        user_id=user.id,
        before={"email": old_email},
        after={"email": new_email},
    )
    # Last, so it is flushed at COMMIT: an address claimed meanwhile by another account fails
    # there, and the request session answers 409 naming the field.
    user.email, user.email_verified_at, user.updated_at = new_email, now, now
    return user
