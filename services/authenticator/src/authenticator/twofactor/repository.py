"""Queries on recovery codes and login challenges."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from authenticator.twofactor.models import LoginChallenge, RecoveryCode


async def replace_recovery_codes(session: AsyncSession, *, user_id: uuid.UUID, hashes: Sequence[str]) -> None:
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    session.add_all([RecoveryCode(user_id=user_id, code_hash=h) for h in hashes])
    await session.flush()


async def delete_recovery_codes(session: AsyncSession, *, user_id: uuid.UUID) -> None:
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))


async def unused_recovery_code(
    session: AsyncSession, *, user_id: uuid.UUID, code_hash: str
) -> RecoveryCode | None:
    return (
        await session.scalars(
            select(RecoveryCode)
            .where(
                RecoveryCode.user_id == user_id,
                RecoveryCode.code_hash == code_hash,
                RecoveryCode.used_at.is_(None),
            )
            .with_for_update()
        )
    ).first()


async def count_unused_recovery_codes(session: AsyncSession, *, user_id: uuid.UUID) -> int:
    total = await session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )
    return int(total or 0)


async def add_challenge(session: AsyncSession, challenge: LoginChallenge) -> None:
    session.add(challenge)
    await session.flush()


async def challenge_by_hash(session: AsyncSession, token_hash: str) -> LoginChallenge | None:
    return (
        await session.scalars(
            select(LoginChallenge).where(LoginChallenge.token_hash == token_hash).with_for_update()
        )
    ).first()


async def delete_expired_challenges(session: AsyncSession, *, before: datetime) -> int:
    result = await session.execute(delete(LoginChallenge).where(LoginChallenge.expires_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
