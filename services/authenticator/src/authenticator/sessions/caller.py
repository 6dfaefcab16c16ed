"""The authenticated caller of this service: a verified token whose session and account are live."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends

from aintech_contracts.rbac import Permission
from aintech_shared.auth import CurrentPrincipal, Principal, require_permissions
from aintech_shared.db import DbSession
from aintech_shared.errors import Unauthorized
from authenticator.core.base import utcnow
from authenticator.sessions import repository as sessions
from authenticator.sessions.models import Session
from authenticator.users.models import User


@dataclass(frozen=True)
class Caller:
    principal: Principal
    user: User
    session: Session

    @property
    def user_id(self) -> uuid.UUID:
        return self.user.id


def subject_ids(principal: Principal) -> tuple[uuid.UUID, uuid.UUID]:
    """The (user id, login session id) a verified token names; 401 when they are not UUIDs."""
    return _uuid(principal.user_id), _uuid(principal.session_id)


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise Unauthorized("Invalid access token: malformed subject.") from exc


def ensure_live(*, active: bool, revoked_at: datetime | None, expires_at: datetime) -> None:
    """The account must be active and the token's login session neither revoked nor expired."""
    if not active:
        raise Unauthorized("This account is no longer active.")
    if revoked_at is not None or expires_at <= utcnow():
        raise Unauthorized("This session has ended; sign in again.")


async def get_caller(principal: CurrentPrincipal, db: DbSession) -> Caller:
    """Unlike other services, the authenticator also rejects tokens of revoked sessions at once."""
    user_id, session_id = subject_ids(principal)
    found = await sessions.get_with_user(db, session_id=session_id, user_id=user_id)
    if found is None:
        raise Unauthorized("This session has ended; sign in again.")
    row, user = found
    ensure_live(active=user.is_active, revoked_at=row.revoked_at, expires_at=row.expires_at)
    return Caller(principal=principal, user=user, session=row)


CurrentCaller = Annotated[Caller, Depends(get_caller)]


def authorized(*permissions: Permission) -> Callable[..., Awaitable[Caller]]:
    """Dependency factory: the shared permission guard plus a live session and account."""
    guard = require_permissions(*permissions)

    async def _dependency(principal: Annotated[Principal, Depends(guard)], db: DbSession) -> Caller:
        return await get_caller(principal, db)

    return _dependency
