"""The authenticated caller of this service: a verified token whose session and account are live."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from aintech_contracts.rbac import Permission
from aintech_shared.auth import CurrentPrincipal, Principal, require_permissions
from aintech_shared.db import DbSession
from aintech_shared.errors import Unauthorized
from authenticator.core.base import utcnow
from authenticator.sessions import repository as sessions
from authenticator.sessions.models import Session
from authenticator.users import repository as users
from authenticator.users.models import User


@dataclass(frozen=True)
class Caller:
    principal: Principal
    user: User
    session: Session

    @property
    def user_id(self) -> uuid.UUID:
        return self.user.id


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise Unauthorized("Invalid access token: malformed subject.") from exc


async def get_caller(principal: CurrentPrincipal, db: DbSession) -> Caller:
    """Unlike other services, the authenticator also rejects tokens of revoked sessions at once."""
    user = await users.get(db, _uuid(principal.user_id))
    if user is None or not user.is_active:
        raise Unauthorized("This account is no longer active.")
    row = await sessions.get(db, _uuid(principal.session_id))
    if row is None or row.user_id != user.id or row.revoked_at is not None or row.expires_at <= utcnow():
        raise Unauthorized("This session has ended; sign in again.")
    return Caller(principal=principal, user=user, session=row)


CurrentCaller = Annotated[Caller, Depends(get_caller)]


def authorized(*permissions: Permission) -> Callable[..., Awaitable[Caller]]:
    """Dependency factory: the shared permission guard plus a live session and account."""
    guard = require_permissions(*permissions)

    async def _dependency(principal: Annotated[Principal, Depends(guard)], db: DbSession) -> Caller:
        return await get_caller(principal, db)

    return _dependency
