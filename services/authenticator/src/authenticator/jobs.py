"""The authenticator's scheduled jobs (each runs once per period across every replica)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.scheduler import ScheduledJob
from authenticator.accounts import repository as accounts
from authenticator.core.base import utcnow
from authenticator.core.runtime import Runtime
from authenticator.oauth import repository as oauth
from authenticator.sessions import repository as sessions
from authenticator.throttle import repository as throttle
from authenticator.tokens import repository as tokens
from authenticator.twofactor import repository as twofactor

# Expired rows are kept a day for troubleshooting; ended sessions a month (the audit log keeps history).
EXPIRED_GRACE = timedelta(days=1)
SESSION_RETENTION = timedelta(days=30)


def jobs(rt: Runtime) -> list[ScheduledJob]:
    """Purge expired credentials hourly; rotate the signing key when it is older than configured."""
    settings, keys = rt.settings, rt.keys

    async def purge(session: AsyncSession) -> None:
        cutoff = utcnow() - EXPIRED_GRACE
        await tokens.delete_expired_refresh_tokens(session, before=cutoff)
        await accounts.delete_expired_tokens(session, before=cutoff)
        await twofactor.delete_expired_challenges(session, before=cutoff)
        await oauth.delete_expired_states(session, before=cutoff)
        await throttle.delete_idle(
            session, before=utcnow() - timedelta(seconds=settings.login_failure_window_seconds)
        )
        await throttle.delete_old_windows(session, before=utcnow() - timedelta(hours=1))
        await sessions.delete_stale(session, before=utcnow() - SESSION_RETENTION)

    async def rotate(session: AsyncSession) -> None:
        await keys.rotate_if_older_than(session, timedelta(days=settings.signing_key_rotation_days))

    return [
        ScheduledJob("auth.purge_expired", timedelta(hours=1), purge),
        ScheduledJob("auth.rotate_signing_key", timedelta(hours=1), rotate),
    ]
