"""Queries on the single-use tokens e-mailed to account holders."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authenticator.accounts.models import OneTimeToken


async def add_token(session: AsyncSession, token: OneTimeToken) -> None:
    session.add(token)
    await session.flush()


async def token_by_hash(session: AsyncSession, *, token_hash: str, purpose: str) -> OneTimeToken | None:
    return (
        await session.scalars(
            select(OneTimeToken)
            .where(OneTimeToken.token_hash == token_hash, OneTimeToken.purpose == purpose)
            .with_for_update()
        )
    ).first()


async def invalidate_tokens(
    session: AsyncSession, *, user_id: uuid.UUID, purpose: str, now: datetime
) -> None:
    """Mark every unused token of ``purpose`` for the user as used (a newer one supersedes them)."""
    await session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user_id, OneTimeToken.purpose == purpose, OneTimeToken.used_at.is_(None)
        )
        .values(used_at=now)
    )


async def count_tokens_since(
    session: AsyncSession, *, user_id: uuid.UUID, purpose: str, since: datetime
) -> int:
    total = await session.scalar(
        select(func.count())
        .select_from(OneTimeToken)
        .where(
            OneTimeToken.user_id == user_id, OneTimeToken.purpose == purpose, OneTimeToken.created_at >= since
        )
    )
    return int(total or 0)


async def last_token_at(session: AsyncSession, *, user_id: uuid.UUID, purpose: str) -> datetime | None:
    """When the user's most recent token of ``purpose`` was issued."""
    return await session.scalar(
        select(func.max(OneTimeToken.created_at)).where(
            OneTimeToken.user_id == user_id, OneTimeToken.purpose == purpose
        )
    )


async def delete_expired_tokens(session: AsyncSession, *, before: datetime) -> int:
    result = await session.execute(delete(OneTimeToken).where(OneTimeToken.expires_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
