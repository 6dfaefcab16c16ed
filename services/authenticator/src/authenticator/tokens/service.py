"""Access tokens (RS256 JWT) and refresh tokens (opaque, SHA-256 at rest, rotated on every use)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.rbac import permissions_for
from authenticator.core.crypto import hash_token, new_token
from authenticator.core.runtime import SigningKeys
from authenticator.settings import Settings
from authenticator.tokens import repository
from authenticator.tokens.models import RefreshToken
from authenticator.users.models import User


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_in: int


async def issue_access_token(
    session: AsyncSession,
    *,
    keys: SigningKeys,
    settings: Settings,
    user: User,
    session_id: uuid.UUID,
    amr: list[str],
) -> AccessToken:
    """Sign a short-lived access token carrying the user's role and permissions."""
    now = int(time.time())
    ttl = settings.access_token_ttl_seconds
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(user.id),
        "email": user.email,
        "role": user.role,
        "permissions": permissions_for(user.role),
        "sid": str(session_id),
        "amr": amr,
        "typ": "access",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
    }
    return AccessToken(token=await keys.sign(session, claims), expires_in=ttl)


async def issue_refresh_token(
    session: AsyncSession, *, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime, ttl: timedelta
) -> tuple[str, RefreshToken]:
    """A new refresh token in the session's family; only its digest is stored."""
    raw = new_token(48)
    row = RefreshToken(
        id=uuid.uuid4(),
        session_id=session_id,
        user_id=user_id,
        token_hash=hash_token(raw),
        created_at=now,
        expires_at=now + ttl,
    )
    await repository.add_refresh_token(session, row)
    return raw, row


async def find_refresh_token(session: AsyncSession, raw: str) -> RefreshToken | None:
    """The stored refresh token matching ``raw`` (locked), looked up by its digest."""
    return await repository.refresh_token_by_hash(session, hash_token(raw))


async def revoke_families(session: AsyncSession, *, session_ids: list[uuid.UUID], now: datetime) -> None:
    await repository.revoke_session_tokens(session, session_ids=session_ids, now=now)
