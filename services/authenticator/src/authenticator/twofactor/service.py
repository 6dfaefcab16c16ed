"""TOTP enrolment, confirmation, disabling, recovery codes and second-factor checks."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.errors import Conflict, UnprocessableEntity
from authenticator.audit.service import AuditAction, record
from authenticator.core.base import utcnow
from authenticator.core.crypto import Sealer
from authenticator.core.request import ClientInfo
from authenticator.core.runtime import Runtime
from authenticator.sessions.models import Session
from authenticator.sessions.service import step_up
from authenticator.throttle import service as throttle
from authenticator.twofactor import repository, totp
from authenticator.users.models import User


@dataclass(frozen=True)
class Enrollment:
    secret: str
    otpauth_uri: str
    qr_code: str


def _aad(user: User, pending: bool) -> str:
    return f"totp{'-pending' if pending else ''}:{user.id}"


def _invalid_code() -> UnprocessableEntity:
    return UnprocessableEntity(
        "The code is not valid.",
        errors=[
            {
                "location": "body",
                "field": "code",
                "message": "invalid or already used code",
                "type": "invalid_code",
            }
        ],
        keep_changes=True,
    )


async def _wrong_code(
    session: AsyncSession, *, rt: Runtime, user: User, client: ClientInfo
) -> UnprocessableEntity:
    """Count a wrong code given inside a session like a failed sign-in; the refusal to raise."""
    _, counted = throttle.in_session_keys(user.email, client)
    await throttle.record_failures(session, keys=counted, settings=rt.settings, now=utcnow())
    await record(
        session, action=AuditAction.two_factor_code_failed, client=client, actor_id=user.id, user_id=user.id
    )
    return _invalid_code()


async def _ensure_allowed(session: AsyncSession, *, user: User, client: ClientInfo) -> None:
    checked, _ = throttle.in_session_keys(user.email, client)
    await throttle.ensure_allowed(session, keys=checked, now=utcnow())


async def _store_recovery_codes(session: AsyncSession, *, sealer: Sealer, user: User) -> list[str]:
    codes = totp.new_recovery_codes()
    hashes = [sealer.keyed_digest(totp.normalise_recovery_code(c)) for c in codes]
    await repository.replace_recovery_codes(session, user_id=user.id, hashes=hashes)
    return codes


async def start_enrollment(
    session: AsyncSession,
    *,
    rt: Runtime,
    user: User,
    current: Session,
    current_password: str | None,
    client: ClientInfo,
) -> Enrollment:
    """Create a pending TOTP secret (after a step-up) and return it with its otpauth URI and QR code."""
    if user.two_factor_enabled:
        raise Conflict("Two-factor authentication is already enabled; disable it first to re-enrol.")
    await step_up(
        session, rt=rt, user=user, current=current, current_password=current_password, client=client
    )
    sealer, issuer = rt.sealer, rt.settings.totp_issuer
    secret = totp.new_secret()
    user.totp_pending_secret = sealer.seal(secret.encode(), aad=_aad(user, pending=True))
    user.updated_at = utcnow()
    uri = totp.provisioning_uri(secret, account=user.email, issuer=issuer)
    await record(
        session,
        action=AuditAction.two_factor_enrollment_started,
        client=client,
        actor_id=user.id,
        user_id=user.id,
    )
    return Enrollment(secret=secret, otpauth_uri=uri, qr_code=await totp.qr_data_uri(uri))


async def confirm_enrollment(
    session: AsyncSession, *, rt: Runtime, user: User, code: str, client: ClientInfo
) -> list[str]:
    """Turn 2FA on once the user proves their app produces valid codes; returns recovery codes."""
    if user.two_factor_enabled:
        raise Conflict("Two-factor authentication is already enabled.")
    if user.totp_pending_secret is None:
        raise Conflict("Start enrolment first (POST /2fa/enable).")
    await _ensure_allowed(session, user=user, client=client)
    sealer = rt.sealer
    secret = sealer.open(user.totp_pending_secret, aad=_aad(user, pending=True)).decode()
    step = totp.matching_step(secret, code, last_used_step=None)
    if step is None:
        raise await _wrong_code(session, rt=rt, user=user, client=client)
    user.totp_secret = sealer.seal(secret.encode(), aad=_aad(user, pending=False))
    user.totp_pending_secret = None
    user.totp_last_step = step
    user.totp_enabled_at = utcnow()
    user.updated_at = utcnow()
    codes = await _store_recovery_codes(session, sealer=sealer, user=user)
    await record(
        session,
        action=AuditAction.two_factor_enabled,
        client=client,
        actor_id=user.id,
        user_id=user.id,
        before={"two_factor_enabled": False},
        after={"two_factor_enabled": True},
    )
    return codes


async def check_second_factor(
    session: AsyncSession, *, sealer: Sealer, user: User, code: str, client: ClientInfo
) -> str | None:
    """Consume a TOTP code (never the same step twice) or a recovery code; returns which, or None."""
    if user.totp_secret is None:
        return None
    code = code.strip()
    if totp.is_totp_code(code):
        secret = sealer.open(user.totp_secret, aad=_aad(user, pending=False)).decode()
        step = totp.matching_step(secret, code, last_used_step=user.totp_last_step)
        if step is None:
            return None
        user.totp_last_step = step
        await session.flush()
        return "totp"
    digest = sealer.keyed_digest(totp.normalise_recovery_code(code))
    row = await repository.unused_recovery_code(session, user_id=user.id, code_hash=digest)
    if row is None:
        return None
    row.used_at = utcnow()
    await session.flush()
    remaining = await repository.count_unused_recovery_codes(session, user_id=user.id)
    await record(
        session,
        action=AuditAction.recovery_code_used,
        client=client,
        actor_id=user.id,
        user_id=user.id,
        details={"remaining": remaining},
    )
    return "recovery_code"


async def disable(session: AsyncSession, *, rt: Runtime, user: User, code: str, client: ClientInfo) -> None:
    """Turn 2FA off; needs a current TOTP or recovery code."""
    if not user.two_factor_enabled:
        raise Conflict("Two-factor authentication is not enabled.")
    await _ensure_allowed(session, user=user, client=client)
    if await check_second_factor(session, sealer=rt.sealer, user=user, code=code, client=client) is None:
        raise await _wrong_code(session, rt=rt, user=user, client=client)
    user.totp_secret = None
    user.totp_pending_secret = None
    user.totp_last_step = None
    user.totp_enabled_at = None
    user.updated_at = utcnow()
    await repository.delete_recovery_codes(session, user_id=user.id)
    await record(
        session,
        action=AuditAction.two_factor_disabled,
        client=client,
        actor_id=user.id,
        user_id=user.id,
        before={"two_factor_enabled": True},
        after={"two_factor_enabled": False},
    )


async def regenerate_recovery_codes(
    session: AsyncSession,
    *,
    rt: Runtime,
    user: User,
    current: Session,
    code: str,
    current_password: str | None,
    client: ClientInfo,
) -> list[str]:
    """Replace every recovery code; needs a step-up and a current TOTP code."""
    if not user.two_factor_enabled:
        raise Conflict("Two-factor authentication is not enabled.")
    await step_up(
        session, rt=rt, user=user, current=current, current_password=current_password, client=client
    )
    await _ensure_allowed(session, user=user, client=client)
    if not totp.is_totp_code(code.strip()):
        raise await _wrong_code(session, rt=rt, user=user, client=client)
    if await check_second_factor(session, sealer=rt.sealer, user=user, code=code, client=client) is None:
        raise await _wrong_code(session, rt=rt, user=user, client=client)
    codes = await _store_recovery_codes(session, sealer=rt.sealer, user=user)
    await record(
        session,
        action=AuditAction.recovery_codes_regenerated,
        client=client,
        actor_id=user.id,
        user_id=user.id,
    )
    return codes
