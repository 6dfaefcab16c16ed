"""Sign-in flows: password login, second-factor exchange, refresh rotation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.auth import SuspiciousLogin
from aintech_shared.errors import Forbidden, TooManyRequests, Unauthorized
from aintech_shared.metrics import login_failed
from authenticator.audit.service import AuditAction, record
from authenticator.core.base import utcnow
from authenticator.core.crypto import hash_token, new_token
from authenticator.core.request import ClientInfo
from authenticator.core.runtime import Runtime
from authenticator.sessions import repository
from authenticator.sessions.devices import device_label
from authenticator.sessions.models import Session
from authenticator.sessions.service import publish_revoked
from authenticator.throttle import service as throttle
from authenticator.tokens import service as tokens
from authenticator.tokens.models import RefreshToken
from authenticator.twofactor import repository as challenges
from authenticator.twofactor import service as twofactor
from authenticator.twofactor.models import LoginChallenge
from authenticator.users import repository as users
from authenticator.users.models import User

INVALID_CREDENTIALS = "Invalid email or password."
INVALID_REFRESH = "The refresh token is invalid or expired; sign in again."
NO_ACCOUNT = uuid.UUID(int=0)
NO_ACCOUNT = uuid.UUID(int=0)


@dataclass(frozen=True)
class SignedIn:
    user: User
    session: Session
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


@dataclass(frozen=True)
class ChallengeIssued:
    challenge_token: str
    expires_at: datetime
    expires_in: int


async def _alert(
    session: AsyncSession, *, rt: Runtime, user: User, reason: str, client: ClientInfo | None
) -> None:
    await rt.outbox.publish(
        session,
        SuspiciousLogin(
            user_id=user.id,
            email=user.email,
            reason=reason,
            ip=client.ip if client else None,
            user_agent=client.user_agent if client else None,
            occurred_at=utcnow(),
        ),
        key=str(user.id),
    )


async def start_session(
    session: AsyncSession, *, rt: Runtime, user: User, client: ClientInfo, method: str, mfa: bool
) -> SignedIn:
    """Open a session for an authenticated user and issue its first token pair."""
    now = utcnow()
    settings = rt.settings
    device = device_label(client.user_agent)
    known_before = await repository.has_any(session, user_id=user.id)
    familiar = await repository.seen_before(session, user_id=user.id, ip=client.ip, device=device)
    ttl = timedelta(seconds=settings.refresh_token_ttl_seconds)
    row = Session(
        id=uuid.uuid4(),
        user_id=user.id,
        created_at=now,
        last_activity_at=now,
        expires_at=now + ttl,
        ip=client.ip,
        user_agent=client.user_agent,
        device=device,
        auth_method=method,
        mfa=mfa,
    )
    await repository.add(session, row)
    refresh, _ = await tokens.issue_refresh_token(
        session, user_id=user.id, session_id=row.id, now=now, ttl=ttl
    )
    amr = ["pwd" if method == "password" else "fed"] + (["otp"] if mfa else [])
    access = await tokens.issue_access_token(
        session, keys=rt.keys, settings=settings, user=user, session_id=row.id, amr=amr
    )
    user.last_login_at = now
    await record(
        session,
        action=AuditAction.login_succeeded,
        client=client,
        actor_id=user.id,
        user_id=user.id,
        resource_type="session",
        resource_id=str(row.id),
        details={"method": method, "mfa": mfa, "device": device},
    )
    if known_before and not familiar:
        await _alert(session, rt=rt, user=user, reason="new_device", client=client)
    return SignedIn(
        user=user,
        session=row,
        access_token=access.token,
        expires_in=access.expires_in,
        refresh_token=refresh,
        refresh_expires_in=settings.refresh_token_ttl_seconds,
    )


async def issue_challenge(
    session: AsyncSession, *, rt: Runtime, user: User, client: ClientInfo, method: str
) -> ChallengeIssued:
    """A short-lived, single-use token to exchange with a second factor at /login/2fa."""
    now = utcnow()
    raw = new_token(32)
    ttl = rt.settings.two_factor_challenge_ttl_seconds
    await challenges.add_challenge(
        session,
        LoginChallenge(
            user_id=user.id,
            token_hash=hash_token(raw),
            auth_method=method,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl),
            ip=client.ip,
            user_agent=client.user_agent,
        ),
    )
    await record(
        session,
        action=AuditAction.login_challenge_issued,
        client=client,
        actor_id=user.id,
        user_id=user.id,
        details={"method": method},
    )
    return ChallengeIssued(challenge_token=raw, expires_at=now + timedelta(seconds=ttl), expires_in=ttl)


async def sign_in(
    session: AsyncSession, *, rt: Runtime, user: User, client: ClientInfo, method: str
) -> SignedIn | ChallengeIssued:
    """Finish a first-factor success: a challenge when 2FA is on, a session otherwise."""
    if user.two_factor_enabled:
        return await issue_challenge(session, rt=rt, user=user, client=client, method=method)
    return await start_session(session, rt=rt, user=user, client=client, method=method, mfa=False)


# Which alert a lockout raises for the account holder (an address locked out of every account says
# nothing about this one).
LOCK_ALERTS = {"account_ip": "failed_sign_ins", "account": "account_locked"}


async def count_failure(
    session: AsyncSession,
    *,
    rt: Runtime,
    email: str,
    user: User | None,
    client: ClientInfo,
    keys: list[str],
    now: datetime,
) -> None:
    """Count a failed attempt against ``keys``; a lockout is audited and the account holder alerted."""
    locked = await throttle.record_failures(session, keys=keys, settings=rt.settings, now=now)
    if not locked:
        return
    scopes = [throttle.scope(k) for k in locked]
    await record(
        session,
        action=AuditAction.login_locked,
        client=client,
        user_id=user.id if user else None,
        details={"email": email, "scope": scopes, "lockout_seconds": rt.settings.login_lockout_seconds},
    )
    reason = next((LOCK_ALERTS[s] for s in ("account", "account_ip") if s in scopes), None)
    if user is not None and reason is not None:
        await _alert(session, rt=rt, user=user, reason=reason, client=client)


async def _throttle_keys(
    session: AsyncSession, *, email: str, user: User | None, client: ClientInfo
) -> tuple[list[str], list[str]]:
    """The keys an attempt is checked against, and those it counts against. A device that signed in
    to the account before is not held back by the account-wide brake (its failures still count)."""
    counted = throttle.sign_in_keys(email, client)
    if client.ip is None:
        return counted, counted
    # Asked for unknown addresses too (with an id no account has): the same work either way.
    known_device = await repository.signed_in_from(
        session,
        user_id=user.id if user else NO_ACCOUNT,
        ip=client.ip,
        device=device_label(client.user_agent),
    )
    checked = [k for k in counted if throttle.scope(k) != "account"] if known_device else counted
    return checked, counted


async def login(
    session: AsyncSession, *, rt: Runtime, email: str, password: str, client: ClientInfo
) -> SignedIn | ChallengeIssued:
    """Password sign-in with throttling; unknown users and wrong passwords look identical."""
    now, email = utcnow(), email.strip().lower()
    user = await users.by_email(session, email)
    checked, counted = await _throttle_keys(session, email=email, user=user, client=client)
    try:
        await throttle.ensure_allowed(session, keys=checked, now=now)
    except TooManyRequests:
        login_failed("throttled")
        raise
    valid, new_hash = await rt.hasher.verify(password, user.password_hash if user else None)
    if not valid or user is None:
        login_failed("invalid_credentials")
        await record(
            session,
            action=AuditAction.login_failed,
            client=client,
            user_id=user.id if user else None,
            details={"email": email, "reason": "invalid_credentials"},
        )
        await count_failure(session, rt=rt, email=email, user=user, client=client, keys=counted, now=now)
        raise Unauthorized(INVALID_CREDENTIALS, keep_changes=True)
    if not user.is_active:
        login_failed("account_disabled")
        await record(
            session,
            action=AuditAction.login_failed,
            client=client,
            user_id=user.id,
            details={"email": email, "reason": "account_disabled"},
        )
        raise Forbidden("This account is disabled. Contact your administrator.", keep_changes=True)
    if new_hash is not None:
        user.password_hash = new_hash
    await throttle.record_success(session, email=email, client=client)
    return await sign_in(session, rt=rt, user=user, client=client, method="password")


async def complete_two_factor(
    session: AsyncSession, *, rt: Runtime, challenge_token: str, code: str, client: ClientInfo
) -> SignedIn:
    """Exchange a login challenge and a TOTP or recovery code for a session."""
    now = utcnow()
    challenge = await challenges.challenge_by_hash(session, hash_token(challenge_token))
    expired = Unauthorized("This sign-in attempt has expired or was already used; sign in again.")
    if challenge is None or challenge.used_at is not None or challenge.expires_at <= now:
        raise expired
    user = await users.get(session, challenge.user_id, for_update=True)
    if user is None or not user.is_active or not user.two_factor_enabled:
        raise expired
    checked, counted = await _throttle_keys(session, email=user.email, user=user, client=client)
    await throttle.ensure_allowed(session, keys=checked, now=now)
    factor = await twofactor.check_second_factor(
        session, sealer=rt.sealer, user=user, code=code, client=client
    )
    if factor is None:
        challenge.attempts += 1
        if challenge.attempts >= rt.settings.two_factor_challenge_max_attempts:
            challenge.used_at = now
        await record(
            session,
            action=AuditAction.two_factor_failed,
            client=client,
            actor_id=user.id,
            user_id=user.id,
            details={"attempts": challenge.attempts},
        )
        await count_failure(session, rt=rt, email=user.email, user=user, client=client, keys=counted, now=now)
        raise Unauthorized("The verification code is not valid.", keep_changes=True)
    challenge.used_at = now
    return await start_session(
        session, rt=rt, user=user, client=client, method=challenge.auth_method, mfa=True
    )


def _concurrent_rotation(
    row: RefreshToken, family: Session, client: ClientInfo, *, grace: int, now: datetime
) -> bool:
    """A token rotated moments ago, presented again by the same device (two tabs refreshing at
    once): within the grace window this is a race, not a replay."""
    if grace <= 0 or row.used_at is None or row.revoked_at is not None or family.revoked_at is not None:
        return False
    return (
        now - row.used_at <= timedelta(seconds=grace)
        and client.ip is not None
        and client.ip == family.ip
        and client.user_agent == family.user_agent
    )


async def refresh(session: AsyncSession, *, rt: Runtime, raw_token: str, client: ClientInfo) -> SignedIn:
    """Rotate a refresh token; presenting an already-rotated one revokes its whole family."""
    now = utcnow()
    invalid = Unauthorized(INVALID_REFRESH)
    row = await tokens.find_refresh_token(session, raw_token)
    if row is None:
        raise invalid
    family = await repository.get(session, row.session_id, for_update=True)
    if family is None:
        raise invalid
    concurrent = _concurrent_rotation(
        row, family, client, grace=rt.settings.refresh_reuse_grace_seconds, now=now
    )
    if (row.used_at is not None or row.revoked_at is not None) and not concurrent:
        if family.revoked_at is None:
            family.revoked_at = now
            family.revoked_reason = "refresh_token_reuse"
            await tokens.revoke_families(session, session_ids=[family.id], now=now)
            await publish_revoked(
                session,
                rt=rt,
                user_id=family.user_id,
                ended=[(family.id, family.last_activity_at)],
                reason="refresh_token_reuse",
                now=now,
            )
            user = await users.get(session, row.user_id)
            await record(
                session,
                action=AuditAction.token_reuse_detected,
                client=client,
                user_id=row.user_id,
                resource_type="session",
                resource_id=str(family.id),
                details={
                    "family_created_at": family.created_at.isoformat(),
                    "token_issued_at": row.created_at.isoformat(),
                },
            )
            if user is not None:
                await _alert(session, rt=rt, user=user, reason="refresh_token_reuse", client=client)
        raise Unauthorized(INVALID_REFRESH, keep_changes=True)
    if row.expires_at <= now or family.revoked_at is not None or family.expires_at <= now:
        raise invalid
    user = await users.get(session, row.user_id)
    if user is None or not user.is_active:
        raise invalid
    ttl = timedelta(seconds=rt.settings.refresh_token_ttl_seconds)
    new_raw, new_row = await tokens.issue_refresh_token(
        session, user_id=user.id, session_id=family.id, now=now, ttl=ttl
    )
    if not concurrent:
        row.used_at = now
        row.replaced_by_id = new_row.id
    family.last_activity_at = now
    family.expires_at = now + ttl
    if client.ip:
        family.ip = client.ip
    amr = ["pwd" if family.auth_method == "password" else "fed"] + (["otp"] if family.mfa else [])
    access = await tokens.issue_access_token(
        session, keys=rt.keys, settings=rt.settings, user=user, session_id=family.id, amr=amr
    )
    return SignedIn(
        user=user,
        session=family,
        access_token=access.token,
        expires_in=access.expires_in,
        refresh_token=new_raw,
        refresh_expires_in=rt.settings.refresh_token_ttl_seconds,
    )
