"""Queries on signing keys and refresh tokens."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authenticator.tokens.models import RefreshToken, SigningKey

ALGORITHM = "RS256"
KEY_LOCK = 0x61757468_6B657973  # advisory-lock id for key creation and rotation


async def active_key(session: AsyncSession) -> SigningKey | None:
    return (
        await session.scalars(
            select(SigningKey).where(SigningKey.algorithm == ALGORITHM, SigningKey.retired_at.is_(None))
        )
    ).first()


async def published_keys(session: AsyncSession, *, now: datetime) -> Sequence[SigningKey]:
    """Keys whose tokens may still be presented: the active one and recently retired ones."""
    return (
        await session.scalars(
            select(SigningKey)
            .where(or_(SigningKey.retired_at.is_(None), SigningKey.publish_until > now))
            .order_by(SigningKey.created_at.desc())
        )
    ).all()


async def lock_keys(session: AsyncSession) -> None:
    """Serialise key creation/rotation across replicas for the rest of the transaction."""
    await session.execute(select(func.pg_advisory_xact_lock(KEY_LOCK)))


async def add_key(session: AsyncSession, key: SigningKey) -> None:
    session.add(key)
    await session.flush()


async def retire_key(session: AsyncSession, *, kid: str, now: datetime, publish_until: datetime) -> None:
    await session.execute(
        update(SigningKey).where(SigningKey.kid == kid).values(retired_at=now, publish_until=publish_until)
    )


async def delete_unpublished_keys(session: AsyncSession, *, now: datetime) -> int:
    result = await session.execute(
        delete(SigningKey).where(SigningKey.retired_at.is_not(None), SigningKey.publish_until <= now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def refresh_token_by_hash(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    return (
        await session.scalars(
            select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
        )
    ).first()


async def add_refresh_token(session: AsyncSession, token: RefreshToken) -> None:
    session.add(token)
    await session.flush()


async def revoke_session_tokens(
    session: AsyncSession, *, session_ids: Sequence[uuid.UUID], now: datetime
) -> None:
    if not session_ids:
        return
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.session_id.in_(session_ids), RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def delete_expired_refresh_tokens(session: AsyncSession, *, before: datetime) -> int:
    result = await session.execute(delete(RefreshToken).where(RefreshToken.expires_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
